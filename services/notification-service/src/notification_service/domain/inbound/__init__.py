"""Inbound mail gateway rules, one concept a module.

- `message`: a raw message parsed (sender, mailbox, body text, attachments, the application it carries)
- `form`: the application form's fields and checks, from a `Label: value` body or a JSON attachment
- `html_text`: an HTML body read as text
- `screening`: accept, refuse or ignore a message (accredited secure domains only)
- `replies`: the acknowledgement and refusal replies and the `mail.received` event's data
"""
