"""Follows and notifications: who follows what (follows.py), how participation events become
notifications (dispatch.py, run by notifier.py), the notification centre (views.py) and the
mails, immediate or in a daily digest (mails.py)."""
