"""Real PDF files for the tests, written byte by byte (no PDF library draws text here).

``text_pdf`` lays out one line of Helvetica per string, one page per list; pypdf
reads its text layer back like any producer's.  ``image_only_pdf`` draws shapes and
no text, as a scan has none.  ``encrypted`` protects a PDF with a user password
(pypdf's writer, RC4, so no crypto library is needed).
"""

from __future__ import annotations

import io


def _pdf(page_streams: list[bytes], info: dict[str, str] | None = None) -> bytes:
    n = len(page_streams)
    font = 3 + 2 * n
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{3 + 2 * i} 0 R".encode() for i in range(n))
        + f"] /Count {n} >>".encode(),
    ]
    for i, stream in enumerate(page_streams):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    if info:
        objects.append(
            b"<< " + b" ".join(f"/{k} ({v})".encode("latin-1") for k, v in info.items()) + b" >>"
        )
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R"
    if info:
        trailer += f" /Info {len(objects)} 0 R"
    out.write(f"trailer\n{trailer} >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def text_pdf(pages: list[list[str]], info: dict[str, str] | None = None) -> bytes:
    """A PDF whose page i shows the lines ``pages[i]`` (ASCII) in its text layer."""
    streams = []
    for lines in pages:
        ops = ["BT /F1 11 Tf 72 740 Td 14 TL"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        streams.append("\n".join(ops).encode("latin-1"))
    return _pdf(streams, info)


def image_only_pdf(pages: int = 2) -> bytes:
    """Pages with drawings and no text: what a scanned edition looks like to a parser."""
    stroke = b"0.2 g 72 72 468 648 re f 1 g 100 600 200 100 re f"
    return _pdf([stroke] * pages)


def encrypted(data: bytes, password: str = "secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
