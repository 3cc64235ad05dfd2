#!/usr/bin/env python3
"""Writes Spec/test-vectors.json: golden datagrams for heartbeat wire format v1.

This is a second, independent implementation of Spec/protocol.md (Python standard library only):
it builds every datagram byte by byte from the spec and states the outcome the spec requires for
each record. The Swift tests check that our codec produces the same bytes and the same outcomes.
Run it from anywhere; it is deterministic, so re-running it must leave the file unchanged.

    python3 Spec/tools/make_test_vectors.py          # rewrite the file
    python3 Spec/tools/make_test_vectors.py --check  # exit 1 if the file is out of date
"""
import hashlib
import hmac
import json
import struct
import sys
import uuid
from pathlib import Path

NOW_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z, the collector's clock for every vector
SKEW_US = 120_000_000           # the default allowed skew, 120 s
EARLIEST_SENT_AT_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
LATEST_SENT_AT_US = 253_402_300_799_999_999    # 9999-12-31T23:59:59.999999Z

KINDS = {"beat": 0, "start": 1, "success": 2, "fail": 3, "stop": 4}


def secret(label):
    """A fixed 32-byte secret derived from a label, so the file is reproducible."""
    return hashlib.sha256(label.encode()).digest()


UNSIGNED_APP = uuid.UUID("0b8f1f8e-3c6a-4f0e-9a51-6c1d2e3f4a5b")
SIGNED_APP = uuid.UUID("5d2c9a10-7e4b-4c8d-b1f2-93a4e5f60718")
DISABLED_APP = uuid.UUID("9e0d8c7b-6a59-4847-a635-2413f0e1d2c3")
UNKNOWN_APP = uuid.UUID("00000000-0000-4000-8000-00000000dead")
SIGNED_SECRET = secret("heartbeat test vector secret: current")
PREVIOUS_SECRET = secret("heartbeat test vector secret: previous")
OTHER_SECRET = secret("heartbeat test vector secret: someone else")

REGISTRY = [
    {"app": str(UNSIGNED_APP), "id": 1, "enabled": True, "secret": None, "previous_secret": None},
    {"app": str(SIGNED_APP), "id": 2, "enabled": True, "secret": SIGNED_SECRET.hex(),
     "previous_secret": PREVIOUS_SECRET.hex()},
    {"app": str(DISABLED_APP), "id": 3, "enabled": False, "secret": None, "previous_secret": None},
]


def record(kind="beat", app=UNSIGNED_APP, instance=0x1A2B3C4D, seq=1, sent_at=NOW_US,
           interval=10_000, status=0, key=None, magic=b"HB", version=1, kind_byte=None, tag=None):
    """One 64-byte record laid out as in the spec's byte table; signed when `key` is given."""
    body = struct.pack(">2sBB16sIQqIi", magic, version,
                       KINDS[kind] if kind_byte is None else kind_byte,
                       app.bytes, instance, seq, sent_at, interval, status)
    assert len(body) == 48
    if tag is None:
        tag = hmac.new(key, body, hashlib.sha256).digest()[:16] if key else bytes(16)
    return body + tag


def fields(raw):
    """The decoded fields of a well-formed record, as the vector file writes them."""
    _, _, kind, app, instance, seq, sent_at, interval, status = struct.unpack(">2sBB16sIQqIi", raw[:48])
    return {
        "kind": [k for k, v in KINDS.items() if v == kind][0],
        "app": str(uuid.UUID(bytes=app)),
        "instance": instance,
        "seq": str(seq),
        "sent_at": str(sent_at),
        "interval": interval,
        "status": status,
        "tag": raw[48:].hex(),
    }


def accepted(raw, signed_with=None):
    entry = {"result": "accepted", "fields": fields(raw)}
    if signed_with:
        entry["signed_with"] = signed_with
    return entry


def rejected(reason, raw=None):
    entry = {"result": "rejected", "reason": reason}
    if raw is not None:
        entry["fields"] = fields(raw)
    return entry


def vector(name, description, records, outcomes, datagram=None):
    data = datagram if datagram is not None else b"".join(records)
    return {"name": name, "description": description, "datagram": data.hex(), "records": outcomes}


def build_vectors():
    v = []
    # Valid unsigned records of every kind.
    for kind, status, interval in [("beat", 0, 10_000), ("start", 0, 3_600_000),
                                   ("success", 0, 0), ("fail", 1, 60_000), ("stop", 0, 0)]:
        r = record(kind=kind, status=status, interval=interval, seq=3)
        v.append(vector(f"unsigned {kind}", f"A valid unsigned `{kind}` record.", [r], [accepted(r)]))
    # Valid signed records of every kind.
    for kind, status, interval in [("beat", 0, 5_000), ("start", 42, 0), ("success", 0, 86_400_000),
                                   ("fail", -15, 30_000), ("stop", 0, 0)]:
        r = record(kind=kind, app=SIGNED_APP, status=status, interval=interval, seq=1000,
                   instance=0xCAFEF00D, key=SIGNED_SECRET)
        v.append(vector(f"signed {kind}", f"A valid `{kind}` record signed with the app's secret.",
                        [r], [accepted(r, "secret")]))
    r = record(app=SIGNED_APP, key=PREVIOUS_SECRET, seq=9)
    v.append(vector("signed with the previous secret",
                    "During a rotation's grace period the previous secret still verifies.",
                    [r], [accepted(r, "previous_secret")]))
    rs = [record(seq=s) for s in (1, 2, 3)]
    v.append(vector("three records", "A datagram of three records, each accepted on its own.",
                    rs, [accepted(r) for r in rs]))
    rs = [record(app=SIGNED_APP if i % 2 else UNSIGNED_APP, seq=100 + i, instance=77,
                 key=SIGNED_SECRET if i % 2 else None, kind="beat") for i in range(16)]
    v.append(vector("sixteen records", "The largest datagram: 16 records, 1024 bytes.",
                    rs, [accepted(r, "secret" if i % 2 else None) for i, r in enumerate(rs)]))
    rs = [record(seq=s) for s in (10, 5, 9)]
    v.append(vector("reordered inside the window",
                    "Sequence numbers 10, 5, 9: records reordered inside the 64-wide window are accepted.",
                    rs, [accepted(r) for r in rs]))
    rs = [record(seq=7), record(seq=7)]
    v.append(vector("duplicate", "The same (app, instance, seq) twice: the second is a replay.",
                    rs, [accepted(rs[0]), rejected("replay", rs[1])]))
    rs = [record(seq=100), record(seq=36), record(seq=37)]
    v.append(vector("older than the window",
                    "After seq 100, seq 36 (64 below) is refused as a replay; seq 37 (63 below) is accepted.",
                    rs, [accepted(rs[0]), rejected("replay", rs[1]), accepted(rs[2])]))
    rs = [record(seq=5, instance=1), record(seq=5, instance=2)]
    v.append(vector("same seq, other instance",
                    "Windows are per (app, instance): the same seq from another instance is accepted.",
                    rs, [accepted(r) for r in rs]))
    r = record(instance=0)
    v.append(vector("instance zero", "Instance 0 is a valid instance id.", [r], [accepted(r)]))
    r = record(seq=2**64 - 1)
    v.append(vector("largest seq", "The largest sequence number, 2^64 - 1.", [r], [accepted(r)]))
    r = record(sent_at=NOW_US - 86_400_000_000)
    v.append(vector("unsigned and a day old",
                    "Freshness is checked on signed records only: an unsigned record a day old is accepted.",
                    [r], [accepted(r)]))
    rs = [record(sent_at=EARLIEST_SENT_AT_US, seq=1), record(sent_at=LATEST_SENT_AT_US, seq=2)]
    v.append(vector("unsigned, sent_at at the ends of its range",
                    "An unsigned record's clock is not checked against the collector's, only its range: "
                    "0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z are accepted.",
                    rs, [accepted(r) for r in rs]))
    r = record(tag=bytes.fromhex("00112233445566778899aabbccddeeff"))
    v.append(vector("unsigned app, non-zero tag",
                    "An app without a secret ignores the tag.", [r], [accepted(r)]))
    r = record(app=SIGNED_APP, key=SIGNED_SECRET, sent_at=NOW_US - SKEW_US)
    v.append(vector("signed at the skew limit", "sent_at exactly 120 s behind is still fresh.",
                    [r], [accepted(r, "secret")]))

    # Rejections.
    r = record(magic=b"HC")
    v.append(vector("bad magic", "The first two bytes are not \"HB\".", [r], [rejected("malformed")]))
    r = record(kind_byte=5)
    v.append(vector("unknown kind", "Kind 5 is not defined in version 1.", [r], [rejected("malformed")]))
    r = record(seq=0)
    v.append(vector("sequence zero", "Sequence numbers start at 1; 0 is malformed.", [r],
                    [rejected("malformed")]))
    for name, sent_at in [("one microsecond before year 1", EARLIEST_SENT_AT_US - 1),
                          ("one microsecond after year 9999", LATEST_SENT_AT_US + 1),
                          ("far in the past", -300_000_000_000_000_000),
                          ("the smallest i64", -2**63), ("the largest i64", 2**63 - 1)]:
        r = record(sent_at=sent_at)
        v.append(vector(f"sent_at {name}",
                        "sent_at must lie in years 1-9999 (Unix microseconds "
                        f"{EARLIEST_SENT_AT_US} to {LATEST_SENT_AT_US}), signed or not: {sent_at} is malformed.",
                        [r], [rejected("malformed")]))
    r = record(app=SIGNED_APP, key=SIGNED_SECRET, sent_at=EARLIEST_SENT_AT_US - 1)
    v.append(vector("signed, sent_at out of range",
                    "The sent_at range is checked before the registry: a signed record is malformed, not stale.",
                    [r], [rejected("malformed")]))
    r = record(version=2)
    v.append(vector("other version", "Version 2 is not read by a v1 collector.", [r],
                    [rejected("version")]))
    r = record(version=2, magic=b"XX")
    v.append(vector("bad magic before version", "The magic is checked before the version.", [r],
                    [rejected("malformed")]))
    v.append(vector("short datagram", "65 bytes is not a multiple of 64: the datagram counts as one malformed record.",
                    [], [rejected("malformed")], datagram=record() + b"\x00"))
    v.append(vector("empty datagram", "A zero-length datagram counts as one malformed record.",
                    [], [rejected("malformed")], datagram=b""))
    v.append(vector("seventeen records", "1088 bytes is over 1024: the datagram counts as one malformed record.",
                    [], [rejected("malformed")], datagram=b"".join(record(seq=s) for s in range(1, 18))))
    r = record(app=UNKNOWN_APP)
    v.append(vector("unknown app", "No registered application has this UUID.", [r],
                    [rejected("unknown_app", r)]))
    r = record(app=DISABLED_APP)
    v.append(vector("disabled app", "The application is registered but disabled.", [r],
                    [rejected("disabled", r)]))
    r = record(app=SIGNED_APP)
    v.append(vector("signed app, zero tag", "An app with a secret refuses unsigned records.", [r],
                    [rejected("auth", r)]))
    good = record(app=SIGNED_APP, key=SIGNED_SECRET, seq=4)
    r = good[:63] + bytes([good[63] ^ 0x01])
    v.append(vector("signed app, tag off by one bit", "One bit of the tag is flipped.", [r],
                    [rejected("auth", r)]))
    r = good[:44] + struct.pack(">i", 1) + good[48:]
    v.append(vector("signed app, body changed", "The status was changed after signing.", [r],
                    [rejected("auth", r)]))
    r = record(app=SIGNED_APP, key=OTHER_SECRET)
    v.append(vector("signed app, someone else's secret", "Signed with a secret that is not the app's.",
                    [r], [rejected("auth", r)]))
    r = record(app=SIGNED_APP, key=SIGNED_SECRET, sent_at=NOW_US - SKEW_US - 1_000_000)
    v.append(vector("signed and too old", "sent_at is 121 s behind the collector's clock.", [r],
                    [rejected("stale", r)]))
    r = record(app=SIGNED_APP, key=SIGNED_SECRET, sent_at=NOW_US + SKEW_US + 1_000_000)
    v.append(vector("signed and from the future", "sent_at is 121 s ahead of the collector's clock.", [r],
                    [rejected("stale", r)]))
    rs = [record(seq=1), record(app=UNKNOWN_APP), record(magic=b"hb"),
          record(app=SIGNED_APP, key=SIGNED_SECRET, seq=2)]
    v.append(vector("mixed datagram", "Each record is accepted or rejected on its own.", rs,
                    [accepted(rs[0]), rejected("unknown_app", rs[1]), rejected("malformed"),
                     accepted(rs[3], "secret")]))
    return v


def document():
    return {
        "description": "Golden datagrams for heartbeat wire format v1; see Spec/protocol.md, 'Test vectors'.",
        "format": 1,
        "collector": {"now_us": str(NOW_US), "allowed_skew_us": str(SKEW_US)},
        "registry": REGISTRY,
        "vectors": build_vectors(),
    }


def main():
    path = Path(__file__).resolve().parent.parent / "test-vectors.json"
    text = json.dumps(document(), indent=2) + "\n"
    if "--check" in sys.argv:
        if path.read_text() != text:
            print(f"{path} is out of date: run {Path(__file__).name}", file=sys.stderr)
            sys.exit(1)
        return
    path.write_text(text)
    print(f"wrote {path} ({len(document()['vectors'])} vectors)")


if __name__ == "__main__":
    main()
