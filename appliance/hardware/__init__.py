"""What board the kiosk runs on and where its GPIO header is, read from /proc and /sys.

Every function takes the file-system root to read under, so tests give it a faked tree.
"""

from appliance.hardware.board import Board, GpioChip, detect_board, header_chip, revision_from_model

__all__ = ["Board", "GpioChip", "detect_board", "header_chip", "revision_from_model"]
