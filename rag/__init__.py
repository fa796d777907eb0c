"""rag: answers about a folder of news articles, with citations you can open."""

__version__ = "0.1.0"
