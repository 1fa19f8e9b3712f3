"""Triage suggestions (智能分类/派单建议): categories and the responsible unit
learned from the centre's own closed tickets, and addresses normalised."""
