"""The printed side of cards: the A4 sheet of QR cards, drawn with reportlab (`sheet.py`)."""
