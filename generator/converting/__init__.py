"""Converting Word documents to PDF with LibreOffice: many agreements to one document, the pool
of kept-running LibreOffices, the batch PDF taken apart."""
