"""The mobile engine under a bad network, big records, skewed clocks and
misuse (issue 21), through the generated Python bindings against a real
phr-server, with the fault-injecting transport of `harness.py`. Each test
names the defect it guards against; `test_three_phones_converge_*` is the
randomized fault run (fixed seeds, bounded rounds)."""

from __future__ import annotations

import datetime
import json
import random
import threading

import bodies
import pytest

import harness
from harness import on

MOTHER = "mother"
YEAR_S = 365 * 24 * 3600


def today(days: int = 0) -> str:
    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()


def visit(note: str, date: str = None, clinic: str = "Sakura"):
    return bodies.visit(date or today(-3), clinic, note)


note_of = bodies.note_of


def pair(phr, mother, phone, name, transport=None):
    partner = phone(name, transport)
    partner.client.join_account(mother.client.create_pairing_invite(), f"{name}'s phone")
    return partner


@pytest.fixture
def family(phr, server, phone, faulty):
    """The mother's phone (fault-injecting transport) with an account."""
    mother = phone("mother", faulty(1))
    mother.client.create_account(server.base_url, "Mother's phone")
    return mother


# --- 1. an answer to another push batch ------------------------------------------------


def test_a_push_answer_for_another_batch_is_refused_and_the_edit_still_reaches_the_server(
    phr, server, phone, family
):
    mother = family
    mother.client.add_record(MOTHER, visit("first"))
    mother.client.sync(None)
    second = mother.client.add_record(MOTHER, visit("second"))
    mother.transport.add(on("POST", "/sync/v1/push"), "stale_push_answer")
    with pytest.raises(phr.PhrError.Network) as bad:
        mother.client.sync(None)
    assert bad.value.retryable and "not for the batch sent" in bad.value.reason
    assert mother.client.pending_count() == 1, "the edit it never sent is not acknowledged"

    assert mother.client.sync(None).pending == 0
    partner = pair(phr, mother, phone, "partner")
    partner.client.sync(None)
    assert note_of(partner.client.get_record(second)) == "second"


# --- 2. joining is atomic; a record that does not open never blocks the cursor --------


def test_a_join_with_a_wrong_account_key_leaves_nothing_and_the_code_still_works(phr, server, phone, family):
    mother = family
    invite = mother.client.create_pairing_invite()
    devices_before = server.count_rows("devices", invite.account_id)
    wrong = phr.PairingInvite(
        server_url=invite.server_url,
        account_id=invite.account_id,
        pairing_code=invite.pairing_code,
        account_key=bytes(32),
        expires_at=invite.expires_at,
    )
    partner = phone("partner")
    with pytest.raises(phr.PhrError) as refused:
        partner.client.join_account(wrong, "Partner's phone")
    assert isinstance(refused.value, phr.PhrError.Conflict) and "account key" in str(refused.value)
    del refused  # its traceback holds the client, which would keep the store locked
    assert partner.client.account() is None
    assert server.count_rows("devices", invite.account_id) == devices_before, "no device was made"
    partner.reopen()
    assert partner.client.account() is None, "nothing of the failed join was saved"
    assert partner.client.join_account(invite, "Partner's phone").account_id == invite.account_id


def test_a_join_whose_key_check_fails_on_the_network_saves_nothing_and_a_retry_adds_one_device(
    phr, server, phone, faulty, family
):
    mother = family
    invite = mother.client.create_pairing_invite()
    partner = phone("partner", faulty(2))
    partner.transport.add(on("GET", "/accounts/v1"), ("status", 503, "0"))
    with pytest.raises(phr.PhrError.Network):
        partner.client.join_account(invite, "Partner's phone")
    assert partner.client.account() is None
    with pytest.raises(phr.PhrError.Auth):
        partner.client.add_record(MOTHER, visit("too early"))
    joined = partner.client.join_account(invite, "Partner's phone")
    assert joined.account_id == invite.account_id
    assert server.count_rows("devices", invite.account_id) == 2, "the retry is the same device, not a ghost"


def _corrupt(change_field: str):
    """A pull answer rewriter that spoils one change's `change_field` (base64)."""

    def rewrite(response):
        page = json.loads(bytes(response.body))
        if page["changes"]:
            raw = bytearray(__import__("base64").b64decode(page["changes"][0][change_field]))
            raw[len(raw) // 2] ^= 0xFF
            page["changes"][0][change_field] = __import__("base64").b64encode(bytes(raw)).decode()
        return type(response)(status=response.status, body=json.dumps(page).encode(), headers=response.headers)

    return rewrite


@pytest.mark.parametrize(
    "field,why", [("envelope", "damaged or was altered"), ("wrapped_key", "another account key")]
)
def test_a_pulled_record_that_does_not_open_is_quarantined_and_the_cursor_moves_on(
    phr, server, phone, faulty, family, field, why
):
    mother = family
    ids = [mother.client.add_record(MOTHER, visit(f"visit {i}")) for i in range(3)]
    mother.client.sync(None)
    partner = pair(phr, mother, phone, "partner", faulty(3))
    partner.transport.add(on("GET", "/sync/v1/pull"), ("rewrite", _corrupt(field)))
    report = partner.client.sync(None)
    assert report.quarantined == 1 and report.pulled == 3
    [bad] = partner.client.quarantined_records()
    assert bad.record_id in ids and why in bad.reason and "0x" not in bad.reason
    assert len(partner.client.timeline(MOTHER, None, None, None)) == 2, "the others arrived"

    # The cursor moved past it: later records still arrive, and a newer
    # version of the quarantined record that opens releases it.
    later = mother.client.add_record(MOTHER, visit("later"))
    mother.client.edit_record(bad.record_id, visit("fixed"))
    mother.client.sync(None)
    assert partner.client.sync(None).quarantined == 0
    assert partner.client.quarantined_records() == []
    assert note_of(partner.client.get_record(later)) == "later"
    assert note_of(partner.client.get_record(bad.record_id)) == "fixed"


# --- 3 and 4. big records, compaction, byte-sized batches ------------------------------


@pytest.fixture
def small_server():
    """A server that takes sealed records up to 16 KiB and requests up to 64 KiB."""
    args = ("--max-envelope-bytes", "16384", "--max-body-bytes", "65536")
    with harness.running_server(serve_args=args) as srv:
        yield srv


def long_note(tag: str) -> str:
    return (tag + " ") + "経過良好。" * 399  # 2,000 characters, ~6 KB of UTF-8


def test_a_record_edited_many_times_stays_small_enough_to_sync_and_says_what_was_folded(
    phr, small_server, phone, faulty
):
    mother = phone("mother", faulty(4))
    mother.client.create_account(small_server.base_url, "Mother's phone")
    record = mother.client.add_record(MOTHER, visit(long_note("v0")))
    for i in range(1, 45):
        mother.client.edit_record(record, visit(long_note(f"v{i}")))
        if i % 3 == 0:
            assert mother.client.sync(None).pending == 0, f"edit {i} synced"
    mother.client.delete_record(record)
    assert mother.client.sync(None).pending == 0, "the tombstone syncs too"
    assert mother.client.folded_versions(record) >= 40
    assert len(mother.client.record_history(record)) <= 3


profile = bodies.profile


def test_an_edit_that_would_make_a_record_unsyncable_is_refused_when_it_is_made(phr, small_server, phone, faulty):
    mother = phone("mother", faulty(5))
    mother.client.create_account(small_server.base_url, "Mother's phone")
    mother.client.sync(None)  # learns the server's limits
    record = mother.client.add_record(MOTHER, profile(10))
    with pytest.raises(phr.PhrError.RecordTooLarge) as too_large:
        mother.client.edit_record(record, profile(100))
    assert too_large.value.limit == 16384 and too_large.value.size > 16384
    kept = bodies.content(mother.client.get_record(record).body)
    assert len(kept.identifiers) == 10, "nothing of the refused edit was saved"
    with pytest.raises(phr.PhrError.RecordTooLarge):
        mother.client.add_record(MOTHER, profile(100))
    assert mother.client.sync(None).pending == 0, "the record as it is still syncs"


def test_one_record_the_server_refuses_does_not_stop_the_others(phr, server, phone, family):
    mother = family
    ids = [mother.client.add_record(MOTHER, visit(f"visit {i}")) for i in range(6)]
    refused_id = ids[2]

    def refuses_one(request):
        return request.url.endswith("/sync/v1/push") and refused_id.encode() in bytes(request.body)

    mother.transport.add(refuses_one, ("status", 413, None), times=None)
    report = mother.client.sync(None)
    assert [r.record_id for r in report.refused] == [refused_id] and report.refused[0].status == 413
    assert report.pushed == 5 and report.pending == 1
    mother.transport.clear()
    assert mother.client.sync(None).pending == 0


def test_push_batches_are_sized_by_bytes_against_the_servers_limit(phr, small_server, phone, faulty):
    mother = phone("mother", faulty(6))
    mother.client.create_account(small_server.base_url, "Mother's phone")
    for i in range(30):
        mother.client.add_record(MOTHER, visit(long_note(f"r{i}")))
    report = mother.client.sync(None)
    assert (report.pushed, report.pending, report.refused) == (30, 0, [])
    sizes = mother.transport.sent_push_sizes
    assert len(sizes) >= 3 and max(sizes) <= 65536, sizes


# --- 5. one client per store ------------------------------------------------------------


def test_a_second_client_on_the_same_store_is_refused(phr, server, phone, family):
    mother = family
    with pytest.raises(phr.PhrError.StoreInUse):
        phr.PhrClient.open(mother.path, mother.storage_key, mother.transport)
    record = mother.client.add_record(MOTHER, visit("kept"))
    reopened = mother.reopen()
    assert note_of(reopened.get_record(record)) == "kept"


def test_concurrent_edits_from_many_threads_of_one_client_are_all_kept(phr, server, family):
    mother = family
    record = mother.client.add_record(MOTHER, visit("start"))
    added, errors = [], []

    def work(n):
        try:
            for i in range(10):
                added.append(mother.client.add_record(MOTHER, visit(f"t{n}-{i}")))
                mother.client.edit_record(record, visit(f"edit t{n}-{i}"))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(added)) == 80
    assert len(mother.client.timeline(MOTHER, None, None, None)) == 81
    assert mother.client.sync(None).pending == 0


# --- 6. clock drift ----------------------------------------------------------------------


def test_a_device_clock_a_year_behind_is_reported_and_todays_real_dates_are_accepted(phr, server, phone, faulty):
    phone_behind = phone("behind", faulty(7))
    # The server's Date says a year later than this device's clock: the
    # device is a year behind.
    phone_behind.transport.add(on(), ("date_shift_s", YEAR_S), times=None)
    phone_behind.client.create_account(server.base_url, "Old phone")
    report = phone_behind.client.sync(None)
    assert report.clock_skewed and report.clock_offset_ms > 300 * 24 * 3600 * 1000
    status = phone_behind.client.clock_status()
    assert status.skewed and abs(status.offset_ms - report.clock_offset_ms) < 5_000
    # A visit dated in 200 days is in the device's future but not the real one.
    in_device_future = (datetime.date.today() + datetime.timedelta(days=200)).isoformat()
    phone_behind.client.add_record(MOTHER, visit("real date", in_device_future))


def test_a_phone_a_century_ahead_drags_no_other_clock_and_a_later_edit_still_wins(phr, server, phone, faulty):
    ahead = phone("ahead", faulty(8))
    ahead.transport.add(on(), ("date_shift_s", 100 * YEAR_S), times=None)
    ahead.client.create_account(server.base_url, "Phone from the future")
    ahead.client.sync(None)
    record = ahead.client.add_record(MOTHER, visit("from 2126"))
    ahead.client.sync(None)
    [version] = ahead.client.record_history(record)
    assert int(version.hlc.split(".")[0]) > 90 * YEAR_S * 1000 + datetime.datetime.now().timestamp() * 1000

    other = pair(phr, ahead, phone, "other")
    report = other.client.sync(None)
    assert report.future_stamps >= 1 and not report.clock_skewed
    mine = other.client.add_record(MOTHER, visit("today"))
    [stamp] = other.client.record_history(mine)
    now_ms = datetime.datetime.now().timestamp() * 1000
    assert abs(int(stamp.hlc.split(".")[0]) - now_ms) < 600_000, "this phone's clock was not dragged to 2126"
    other.client.edit_record(record, visit("edited after seeing it"))
    assert note_of(other.client.get_record(record)) == "edited after seeing it"


# --- 7. account calls safe to retry --------------------------------------------------------


def test_a_create_account_whose_answer_is_lost_makes_one_account_when_retried(phr, server, phone, faulty):
    mother = phone("mother", faulty(9))
    accounts_before = server.count_all("accounts")
    mother.transport.add(on("POST", "/accounts/v1"), "lose_answer")
    with pytest.raises(phr.PhrError.Network):
        mother.client.create_account(server.base_url, "Mother's phone")
    assert mother.client.account() is None
    mother.reopen()  # even across an app restart
    summary = mother.client.create_account(server.base_url, "Mother's phone")
    assert server.count_all("accounts") == accounts_before + 1, "no orphan account"
    assert mother.client.sync(None).pending == 0
    assert summary.account_id


def test_a_join_whose_answer_is_lost_adds_one_device_when_retried(phr, server, phone, faulty, family):
    mother = family
    invite = mother.client.create_pairing_invite()
    partner = phone("partner", faulty(10))
    partner.transport.add(on("POST", "/accounts/v1/join"), "lose_answer")
    with pytest.raises(phr.PhrError.Network):
        partner.client.join_account(invite, "Partner's phone")
    partner.client.join_account(invite, "Partner's phone")
    assert server.count_rows("devices", invite.account_id) == 2, "no ghost device"


def test_a_delete_account_whose_answer_is_lost_wipes_locally_when_retried(phr, server, phone, family):
    mother = family
    mother.client.add_record(MOTHER, visit("to be erased"))
    mother.client.sync(None)
    mother.transport.add(on("DELETE", "/accounts/v1"), "lose_answer")
    with pytest.raises(phr.PhrError.Network):
        mother.client.delete_account()
    mother.client.delete_account()
    assert mother.client.account() is None
    assert mother.client.create_account(server.base_url, "Fresh start").account_id


# --- 8. a cut-off answer ----------------------------------------------------------------------


def test_a_truncated_push_answer_is_retryable_and_the_batch_is_kept(phr, server, phone, family):
    mother = family
    record = mother.client.add_record(MOTHER, visit("once"))
    mother.transport.add(on("POST", "/sync/v1/push"), "truncate")
    with pytest.raises(phr.PhrError.Network) as cut:
        mother.client.sync(None)
    assert cut.value.retryable and "cut off" in cut.value.reason
    assert mother.client.pending_count() == 1
    assert mother.client.sync(None).pending == 0
    partner = pair(phr, mother, phone, "partner")
    assert partner.client.sync(None).pulled == 1
    assert [e.record_id for e in partner.client.timeline(MOTHER, None, None, None)] == [record]


# --- 10. the UI never waits for the network; cancel reaches the running sync; Retry-After --


def test_reads_do_not_wait_for_a_sync_stuck_on_the_network(phr, server, family):
    mother = family
    record = mother.client.add_record(MOTHER, visit("readable"))
    gate = threading.Event()
    mother.transport.add(on("GET", "/sync/v1/pull"), ("block", gate))
    syncing = threading.Thread(target=lambda: mother.client.sync(None))
    syncing.start()
    try:
        result = {}
        reader = threading.Thread(
            target=lambda: result.update(
                timeline=mother.client.timeline(MOTHER, None, None, None),
                pending=mother.client.pending_count(),
                record=mother.client.get_record(record),
            )
        )
        reader.start()
        reader.join(timeout=20)
        assert not reader.is_alive(), "timeline() waited for the network"
        assert syncing.is_alive(), "the sync was still on the network meanwhile"
        assert [e.record_id for e in result["timeline"]] == [record]
    finally:
        gate.set()
        syncing.join(timeout=60)


def test_cancel_reaches_the_running_sync_even_with_another_sync_queued(phr, server, family):
    mother = family
    for i in range(3):
        mother.client.add_record(MOTHER, visit(f"v{i}"))
    gate = threading.Event()
    mother.transport.add(on("POST", "/sync/v1/push"), ("block", gate))
    reports = {}
    first = threading.Thread(target=lambda: reports.update(first=mother.client.sync(None)))
    first.start()
    assert mother.transport.blocked.wait(timeout=30), "the first sync reached its push"
    second = threading.Thread(target=lambda: reports.update(second=mother.client.sync(None)))
    second.start()
    threading.Event().wait(0.2)
    mother.client.cancel_sync()
    gate.set()
    first.join(timeout=60)
    second.join(timeout=60)
    assert reports["first"].cancelled, "the running sync saw the cancel"
    assert not reports["second"].cancelled and reports["second"].pending == 0


def test_a_429_with_retry_after_backs_off_as_told(phr, server, family):
    mother = family
    mother.client.add_record(MOTHER, visit("later"))
    mother.transport.add(on("GET", "/sync/v1/pull"), ("status", 429, "2"))
    with pytest.raises(phr.PhrError.Network) as limited:
        mother.client.sync(None)
    assert limited.value.retryable and limited.value.retry_after_ms == 2000
    calls = len(mother.transport.calls)
    with pytest.raises(phr.PhrError.Network) as early:
        mother.client.sync(None)
    assert 0 < early.value.retry_after_ms <= 2000
    assert len(mother.transport.calls) == calls, "nothing was sent before the time was up"
    threading.Event().wait(2.1)
    assert mother.client.sync(None).pending == 0


# --- the randomized fault run ---------------------------------------------------------------


@pytest.mark.parametrize("seed", [11, 23, 47])
def test_three_phones_converge_with_no_loss_under_random_faults(phr, server, phone, faulty, seed):
    rng = random.Random(seed)
    mother = phone("mother", faulty(seed))
    mother.client.create_account(server.base_url, "Mother's phone")
    phones = [mother, pair(phr, mother, phone, "partner", faulty(seed + 1)), pair(phr, mother, phone, "grandma", faulty(seed + 2))]
    created, deleted = set(), set()
    for p in phones:
        p.transport.random_faults(0.3)
    for _round in range(12):
        for p in phones:
            live = [e.record_id for e in p.client.timeline(MOTHER, None, None, None)]
            action = rng.random()
            if action < 0.5 or not live:
                created.add(p.client.add_record(MOTHER, visit(f"{p.name} {_round}")))
            elif action < 0.85:
                p.client.edit_record(rng.choice(live), visit(f"{p.name} edit {_round}"))
            else:
                victim = rng.choice(live)
                p.client.delete_record(victim)
                deleted.add(victim)
            try:
                p.client.sync(None)
            except phr.PhrError.Network:
                pass  # the next round retries
    for p in phones:
        p.transport.clear()
    for _ in range(3):
        for p in phones:
            p.client.sync(None)
    states = []
    for p in phones:
        assert p.client.pending_count() == 0
        assert p.client.quarantined_records() == []
        states.append({e.record_id: e.body for e in p.client.timeline(MOTHER, None, None, None)})
    assert states[0] == states[1] == states[2], "the three phones converged"
    assert created - deleted <= set(states[0]), "no record that was never deleted is lost"
