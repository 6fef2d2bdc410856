"""Outreach: the e-mail offering help (render, send once per person), opt-outs and
the unsubscribe link."""
