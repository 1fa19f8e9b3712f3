"""The AMI events the controller asks Asterisk for (its Filter whitelist)."""

# Every event some part of the controller handles (hotline/ami/mirror.py,
# acd/, tickets/, resync, pbx/trunks.py, pbx/sipguard.py, carmove/): keep in step when
# a handler is added (tests/unit/test_used_events.py checks).
USED_EVENTS = (
    "Newchannel",
    "Newstate",
    "NewCallerid",
    "Hangup",
    "DeviceStateChange",
    "FullyBooted",
    "Shutdown",
    "QueueMemberAdded",
    "QueueMemberStatus",
    "QueueMemberPause",
    "QueueMemberPenalty",
    "QueueMemberRemoved",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "AgentRingNoAnswer",
    "UserEvent",
    # Whether an Originate the controller sent could start (carmove/service.py).
    "OriginateResponse",
    # Trunk state (pbx/trunks.py) and failed authentication (pbx/sipguard.py).
    "ContactStatus",
    "Registry",
    "ChallengeSent",
    "ChallengeResponseFailed",
    "InvalidAccountID",
    "InvalidPassword",
)
