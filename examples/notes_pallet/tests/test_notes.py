"""How a pallet author tests a pallet: the fixtures come from cmu-chain's pytest plugin."""

from cmu_notes import Notes

from runtime.testing import assert_noop, assert_ok


def test_set_note_works(runtime_with):
    rt = runtime_with("Notes")
    assert_ok(rt.call("alice", "Notes.set_note", text=b"hi"))
    assert rt.last_event() == Notes.NoteSet(who=rt.account("alice"), length=2)
    assert rt.pallet(Notes).count.get() == 1


def test_set_note_fails_when_too_long(runtime_with):
    rt = runtime_with("Notes")
    assert_noop(rt.call("alice", "Notes.set_note", text=b"x" * 300), Notes.TooLong)


def test_clear_note_fails_when_no_note(runtime_with):
    rt = runtime_with("Notes")
    assert_noop(rt.call("bob", "Notes.clear_note"), Notes.NoNote)
