"""FastAPI service for Integrated Offender Management: register, scores, shortlists, reports."""
