"""LED and buzzer feedback behind the `Feedback` protocol (gpiozero on the Pi, MockFactory elsewhere)."""

from appliance.feedback.base import Feedback, Mood, Signal
from appliance.feedback.gpio import GpioFeedback, make_feedback

__all__ = ["Feedback", "GpioFeedback", "Mood", "Signal", "make_feedback"]
