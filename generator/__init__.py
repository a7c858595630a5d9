"""grantgen: stock-option grant spreadsheets to Word agreements and signature-ready PDFs."""

__version__ = "0.1.0"
