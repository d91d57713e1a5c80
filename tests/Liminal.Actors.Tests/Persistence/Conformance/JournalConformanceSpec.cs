using System.Collections.Immutable;
using System.Reflection;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit;
using Liminal.Actors.Channels;
using Liminal.Actors.Persistence;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Persistence.Conformance;

/// <summary>
/// The core cases of Akka.Persistence's TCK <c>JournalSpec</c> (the TCK package is not served here, so they are
/// ported), run against one journal configuration Liminal ships. The spec talks to the journal actor with the
/// journal protocol itself, as the TCK does: <see cref="WriteMessages"/>, <see cref="ReplayMessages"/> (whose
/// <see cref="RecoverySuccess"/> carries the highest sequence number; the protocol has no separate read of it) and
/// <see cref="DeleteMessagesTo"/>.
/// </summary>
/// <remarks>
/// Departures from the TCK: persistence ids are GUIDs, because the PostgreSQL database is shared with other specs
/// and earlier runs; the TCK's serializer of actor refs is replaced by Liminal's event serializer, the one our
/// events go through; no case waits for a message not to come (the TCK's <c>ExpectNoMsg(200ms)</c>): every reply is
/// counted instead, as a replay ends with exactly one <see cref="RecoverySuccess"/> after its events. The TCK's
/// tag cases are left out because Liminal writes no tagged events and queries no tag (no <c>Tagged</c> in
/// <c>src/</c>); the SQLite writer's tag rows are covered by <c>SqliteJournalWriterSpecs</c>.
/// </remarks>
public abstract class JournalConformanceSpec(Config journalConfig) : LiminalTestKit(journalConfig)
{
    private const int ActorInstanceId = 1;

    /// <summary>How long a reply may take before the case fails: generous, because CI runs on two cores shared with
    /// builds, and a passing case never waits it out.</summary>
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(20);

    /// <summary>The persistence id every case writes its five events to (the TCK's <c>Pid</c>).</summary>
    private string Pid { get; } = NewPersistenceId();

    private string WriterGuid { get; } = Guid.NewGuid().ToString();

    private IActorRef Journal => Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);

    /// <summary>What <see cref="JournalUnderTest.Describe"/> must report, so a misconfigured class cannot pass for another.</summary>
    protected abstract string ExpectedJournal { get; }

    /// <summary>Reports the case skipped when the configuration's database cannot be reached.</summary>
    protected virtual void RequireDatabase()
    {
    }

    [SkippableFact]
    public void The_journal_under_test_is_the_configured_implementation()
    {
        WriteFiveEvents();
        Assert.Equal(ExpectedJournal, JournalUnderTest.Describe(Journal));
    }

    [SkippableFact]
    public void Replays_all_events_in_order_with_the_highest_sequence_number()
    {
        WriteFiveEvents();
        AssertReplay(Replay(1, long.MaxValue, long.MaxValue), highest: 5, 1, 2, 3, 4, 5);
    }

    [SkippableFact]
    public void Replays_from_a_lower_sequence_number_bound()
    {
        WriteFiveEvents();
        AssertReplay(Replay(3, long.MaxValue, long.MaxValue), highest: 5, 3, 4, 5);
    }

    [SkippableFact]
    public void Replays_up_to_an_upper_sequence_number_bound_and_still_reports_the_highest()
    {
        WriteFiveEvents();
        AssertReplay(Replay(1, 3, long.MaxValue), highest: 5, 1, 2, 3);
    }

    [SkippableFact]
    public void Replays_between_a_lower_and_an_upper_bound()
    {
        WriteFiveEvents();
        AssertReplay(Replay(2, 3, long.MaxValue), highest: 5, 2, 3);
    }

    [SkippableFact]
    public void Replays_no_more_than_the_count_limit()
    {
        WriteFiveEvents();
        AssertReplay(Replay(1, long.MaxValue, 3), highest: 5, 1, 2, 3);
    }

    [SkippableFact]
    public void Replays_within_bounds_and_a_count_limit()
    {
        WriteFiveEvents();
        AssertReplay(Replay(2, 5, 2), highest: 5, 2, 3);
    }

    [SkippableFact]
    public void Replays_a_single_event_when_the_lower_bound_equals_the_upper_bound()
    {
        WriteFiveEvents();
        AssertReplay(Replay(2, 2, long.MaxValue), highest: 5, 2);
    }

    [SkippableFact]
    public void Replays_a_single_event_when_the_count_limit_is_one()
    {
        WriteFiveEvents();
        AssertReplay(Replay(2, 4, 1), highest: 5, 2);
    }

    [SkippableFact]
    public void Replays_nothing_but_the_highest_sequence_number_when_the_count_limit_is_zero()
    {
        WriteFiveEvents();
        AssertReplay(Replay(2, 4, 0), highest: 5);
    }

    [SkippableFact]
    public void Replays_nothing_when_the_lower_bound_is_above_the_upper_bound()
    {
        WriteFiveEvents();
        AssertReplay(Replay(3, 2, long.MaxValue), highest: 5);
    }

    [SkippableFact]
    public void Replays_nothing_with_highest_sequence_number_zero_for_a_persistence_id_without_events()
    {
        WriteFiveEvents();
        AssertReplay(Replay(0, long.MaxValue, long.MaxValue, NewPersistenceId()), highest: 0);
    }

    [SkippableFact]
    public void A_replay_after_DeleteMessagesTo_skips_the_deleted_events()
    {
        WriteFiveEvents();
        DeleteTo(3);
        AssertReplay(Replay(1, long.MaxValue, long.MaxValue), highest: 5, 4, 5);
    }

    [SkippableFact]
    public void The_highest_sequence_number_does_not_go_down_when_events_are_deleted()
    {
        WriteFiveEvents();
        DeleteTo(3);
        AssertReplay(Replay(0, long.MaxValue, long.MaxValue), highest: 5, 4, 5);
        DeleteTo(long.MaxValue);
        AssertReplay(Replay(0, long.MaxValue, long.MaxValue), highest: 5);
    }

    /// <summary>Not in the TCK: what a persistent actor does next after deleting all its events.</summary>
    [SkippableFact]
    public void Writing_continues_after_the_highest_sequence_number_once_every_event_is_deleted()
    {
        WriteFiveEvents();
        DeleteTo(long.MaxValue);

        var replies = Write(new AtomicWrite(Event(6)));
        Assert.IsType<WriteMessagesSuccessful>(replies.Summary);
        AssertWritten<WriteMessageSuccess>(replies.PerEvent.Single(), Pid, 6);
        AssertReplay(Replay(1, long.MaxValue, long.MaxValue), highest: 6, 6);
    }

    /// <summary>
    /// Not in the TCK, but the plugin and <see cref="Liminal.Persistence.Sqlite.SqliteJournal"/> both promise it: a recovery that starts
    /// while the actor's last write is under way (a restart after a write timed out) must see that write's sequence
    /// numbers, or the actor would reuse them. Another actor's large write goes first, so ours is still queued or
    /// being written when the replay asks for the highest sequence number.
    /// </summary>
    [SkippableFact]
    public void A_replay_asked_for_while_a_write_is_in_flight_includes_that_write()
    {
        WriteFiveEvents();
        var other = CreateTestProbe();
        var writer = CreateTestProbe();
        var replayer = CreateTestProbe();
        var otherId = NewPersistenceId();

        Journal.Tell(new WriteMessages([.. Enumerable.Range(1, 500).Select(n => new AtomicWrite(Event(n, otherId)))], other.Ref, ActorInstanceId));
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(6)), new AtomicWrite(Event(7))], writer.Ref, ActorInstanceId));
        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, Pid, replayer.Ref));

        AssertReplay(CollectReplay(replayer), highest: 7, 1, 2, 3, 4, 5, 6, 7);
        writer.ExpectMsg<WriteMessagesSuccessful>(ReplyTimeout);
        other.ExpectMsg<WriteMessagesSuccessful>(ReplyTimeout);
    }

    [SkippableFact]
    public void Several_atomic_writes_in_one_WriteMessages_are_stored_in_order_and_each_event_is_reported()
    {
        WriteFiveEvents();
        var other = NewPersistenceId();

        var replies = Write(
            new AtomicWrite(Event(6)),
            new AtomicWrite(Events(other, 1, 2)),
            new AtomicWrite(Events(Pid, 7, 8)),
            new AtomicWrite(Event(3, other)));

        Assert.IsType<WriteMessagesSuccessful>(replies.Summary);
        Assert.Equal(6, replies.PerEvent.Count);
        AssertWritten<WriteMessageSuccess>(replies.PerEvent[0], Pid, 6);
        AssertWritten<WriteMessageSuccess>(replies.PerEvent[1], other, 1);
        AssertWritten<WriteMessageSuccess>(replies.PerEvent[2], other, 2);
        AssertWritten<WriteMessageSuccess>(replies.PerEvent[3], Pid, 7);
        AssertWritten<WriteMessageSuccess>(replies.PerEvent[4], Pid, 8);
        AssertWritten<WriteMessageSuccess>(replies.PerEvent[5], other, 3);
        AssertReplay(Replay(1, long.MaxValue, long.MaxValue), highest: 8, 1, 2, 3, 4, 5, 6, 7, 8);
        AssertReplay(Replay(1, long.MaxValue, long.MaxValue, other), highest: 3, other, 1, 2, 3);
    }

    [SkippableFact]
    public void An_event_that_cannot_be_serialized_is_rejected_alone_and_the_other_writes_are_stored()
    {
        WriteFiveEvents();

        var replies = Write(
            new AtomicWrite(Event(6)),
            new AtomicWrite(Event(7, payload: new Unserializable())),
            new AtomicWrite(Event(8)));

        Assert.IsType<WriteMessagesSuccessful>(replies.Summary);
        AssertWritten<WriteMessageSuccess>(replies.PerEvent[0], Pid, 6);
        var rejected = AssertWritten<WriteMessageRejected>(replies.PerEvent[1], Pid, 7);
        Assert.IsType<Unserializable>(rejected.Persistent.Payload);
        AssertWritten<WriteMessageSuccess>(replies.PerEvent[2], Pid, 8);
        Assert.Equal(3, replies.PerEvent.Count);
        AssertReplay(Replay(6, long.MaxValue, long.MaxValue), highest: 8, 6, 8);
    }

    /// <summary>Not in the TCK: an atomic write is all or nothing, so one bad event rejects the events beside it.</summary>
    [SkippableFact]
    public void An_atomic_write_holding_an_event_that_cannot_be_serialized_is_rejected_whole()
    {
        WriteFiveEvents();

        var replies = Write(new AtomicWrite(ImmutableList.Create<IPersistentRepresentation>(
            Event(6), Event(7, payload: new Unserializable()), Event(8))));

        Assert.IsType<WriteMessagesSuccessful>(replies.Summary);
        Assert.Equal(3, replies.PerEvent.Count);
        AssertWritten<WriteMessageRejected>(replies.PerEvent[0], Pid, 6);
        AssertWritten<WriteMessageRejected>(replies.PerEvent[1], Pid, 7);
        AssertWritten<WriteMessageRejected>(replies.PerEvent[2], Pid, 8);
        AssertReplay(Replay(1, long.MaxValue, long.MaxValue), highest: 5, 1, 2, 3, 4, 5);
    }

    /// <summary>
    /// Not in the TCK: writes of many actors in flight at once share transactions (SqliteJournal, and the
    /// plugin's own write queue), and each must still get exactly its own results, rejections included.
    /// </summary>
    [SkippableFact]
    public void Writes_of_many_actors_in_flight_at_once_are_each_answered_with_their_own_results()
    {
        WriteFiveEvents();
        var writers = Enumerable.Range(0, 20).Select(i => (Id: NewPersistenceId(), Probe: CreateTestProbe(), Rejects: i % 3 == 1)).ToList();

        foreach (var (id, probe, rejects) in writers)
            Journal.Tell(new WriteMessages(
                [
                    new AtomicWrite(Events(id, 1, 2)),
                    new AtomicWrite(Event(3, id, rejects ? new Unserializable() : "a-3")),
                    new AtomicWrite(Event(4, id)),
                ], probe.Ref, ActorInstanceId));

        foreach (var (id, probe, rejects) in writers)
        {
            probe.ExpectMsg<WriteMessagesSuccessful>(ReplyTimeout);
            AssertWritten<WriteMessageSuccess>(probe.ExpectMsg<object>(ReplyTimeout), id, 1);
            AssertWritten<WriteMessageSuccess>(probe.ExpectMsg<object>(ReplyTimeout), id, 2);
            if (rejects)
                AssertWritten<WriteMessageRejected>(probe.ExpectMsg<object>(ReplyTimeout), id, 3);
            else
                AssertWritten<WriteMessageSuccess>(probe.ExpectMsg<object>(ReplyTimeout), id, 3);
            AssertWritten<WriteMessageSuccess>(probe.ExpectMsg<object>(ReplyTimeout), id, 4);
            AssertReplay(Replay(1, long.MaxValue, long.MaxValue, id), highest: 4, id, rejects ? [1, 2, 4] : [1, 2, 3, 4]);
        }
    }

    /// <summary>
    /// The database refuses the batch: its last event reuses a stored (persistence_id, sequence_number). Each
    /// WriteMessages is one transaction, so none of its events is stored, every one is answered with a failure, and
    /// the journal goes on writing afterwards (the SQLite writer reopens its connection after an error).
    /// </summary>
    [SkippableFact]
    public void A_batch_the_database_refuses_fails_every_event_in_it_stores_none_and_writing_resumes()
    {
        WriteFiveEvents();
        var other = NewPersistenceId();

        var replies = Write(
            new AtomicWrite(Event(1, other)),
            new AtomicWrite(Events(Pid, 6, 7)),
            new AtomicWrite(Event(5, payload: "duplicate")));

        Assert.Equal(3, Assert.IsType<WriteMessagesFailed>(replies.Summary).WriteCount);
        Assert.Equal(4, replies.PerEvent.Count);
        AssertWritten<WriteMessageFailure>(replies.PerEvent[0], other, 1);
        AssertWritten<WriteMessageFailure>(replies.PerEvent[1], Pid, 6);
        AssertWritten<WriteMessageFailure>(replies.PerEvent[2], Pid, 7);
        AssertWritten<WriteMessageFailure>(replies.PerEvent[3], Pid, 5);
        AssertReplay(Replay(1, long.MaxValue, long.MaxValue), highest: 5, 1, 2, 3, 4, 5);
        AssertReplay(Replay(1, long.MaxValue, long.MaxValue, other), highest: 0);

        var retried = Write(new AtomicWrite(Events(Pid, 6, 7)));
        Assert.IsType<WriteMessagesSuccessful>(retried.Summary);
        AssertReplay(Replay(6, long.MaxValue, long.MaxValue), highest: 7, 6, 7);
    }

    /// <summary>The TCK's serialization case with the serializer our events really use, and its manifest.</summary>
    [SkippableFact]
    public void Liminal_events_are_replayed_equal_through_their_serializer()
    {
        WriteFiveEvents();
        var defined = new ChannelDefined("orders", Durable: true, SchemaPath: null, Partitions: 4);
        var limited = defined with { MaxAge = TimeSpan.FromDays(7), MaxMessagesPerPartition = 1000 };

        var replies = Write(new AtomicWrite(Event(6, payload: defined)));
        Assert.IsType<WriteMessagesSuccessful>(Write(new AtomicWrite(Event(7, payload: limited))).Summary);

        Assert.IsType<WriteMessagesSuccessful>(replies.Summary);
        var replayed = Replay(6, long.MaxValue, long.MaxValue).Events;
        Assert.Equal([(Pid, 6L), (Pid, 7L)], replayed.Select(e => (e.PersistenceId, e.SequenceNr)));
        Assert.Equal([defined, limited], replayed.Select(e => e.Payload));
    }

    /// <summary>
    /// Where this departs from the TCK, which expects the event's own <see cref="Persistent.WriterGuid"/> back: every
    /// configuration stores the journal actor's writer id (Akka.Persistence.Sql's serializer writes its own
    /// <c>writer_uuid</c>, and SqliteJournalWriter uses that serializer). Akka's replay filter tells writers apart by
    /// this id, so two incarnations of one persistent actor writing through the same journal (one process) look
    /// like one writer to it; incarnations on different nodes still differ. Liminal never runs two incarnations of an
    /// entity in one process at once (entity parents wait for Terminated), so it does not depend on it. If this
    /// fails, the plugin now keeps the event's WriterGuid: assert equality, as the TCK does.
    /// </summary>
    [SkippableFact]
    public void Replayed_events_carry_the_journals_writer_id_rather_than_the_events_WriterGuid()
    {
        WriteFiveEvents();
        var writerIds = Replay(1, long.MaxValue, long.MaxValue).Events.Select(e => e.WriterGuid).Distinct().ToList();
        var writerId = Assert.Single(writerIds);
        Assert.False(string.IsNullOrEmpty(writerId));
        Assert.NotEqual(WriterGuid, writerId);
    }

    /// <summary>
    /// The TCK's fixture: events a-1 … a-5 in one WriteMessages of four atomic writes, the last holding two events
    /// (as <c>PersistAll</c> writes them); every event must be reported written, in order.
    /// </summary>
    private void WriteFiveEvents()
    {
        RequireDatabase();
        var replies = Write(
            new AtomicWrite(Event(1)),
            new AtomicWrite(Event(2)),
            new AtomicWrite(Event(3)),
            new AtomicWrite(Events(Pid, 4, 5)));
        Assert.IsType<WriteMessagesSuccessful>(replies.Summary);
        Assert.Equal(5, replies.PerEvent.Count);
        for (var n = 1; n <= 5; n++)
            AssertWritten<WriteMessageSuccess>(replies.PerEvent[n - 1], Pid, n);
    }

    private Persistent Event(long sequenceNr, string? other = null, object? payload = null) =>
        new(payload ?? $"a-{sequenceNr}", sequenceNr, other ?? Pid, string.Empty, false, ActorRefs.NoSender, WriterGuid);

    private IImmutableList<IPersistentRepresentation> Events(string persistenceId, long from, long to) =>
        [.. Enumerable.Range((int)from, (int)(to - from + 1)).Select(n => Event(n, persistenceId))];

    /// <summary>Sends one WriteMessages and collects its summary reply and one reply per event.</summary>
    private WriteReplies Write(params AtomicWrite[] writes)
    {
        var probe = CreateTestProbe();
        Journal.Tell(new WriteMessages(writes, probe.Ref, ActorInstanceId));
        var summary = probe.ExpectMsg<object>(ReplyTimeout);
        var perEvent = Enumerable.Range(0, writes.Sum(w => w.Size)).Select(_ => probe.ExpectMsg<object>(ReplyTimeout)).ToList();
        return new WriteReplies(summary, perEvent);
    }

    private static T AssertWritten<T>(object reply, string persistenceId, long sequenceNr) where T : class
    {
        var typed = Assert.IsType<T>(reply);
        var (persistent, actorInstanceId) = typed switch
        {
            WriteMessageSuccess s => (s.Persistent, s.ActorInstanceId),
            WriteMessageRejected r => (r.Persistent, r.ActorInstanceId),
            WriteMessageFailure f => (f.Persistent, f.ActorInstanceId),
            _ => throw new ArgumentException($"not a per-event write reply: {typed}"),
        };
        Assert.Equal((persistenceId, sequenceNr, ActorInstanceId), (persistent.PersistenceId, persistent.SequenceNr, actorInstanceId));
        return typed;
    }

    private void DeleteTo(long toSequenceNr)
    {
        var probe = CreateTestProbe();
        Journal.Tell(new DeleteMessagesTo(Pid, toSequenceNr, probe.Ref));
        Assert.Equal(toSequenceNr, probe.ExpectMsg<DeleteMessagesSuccess>(ReplyTimeout).ToSequenceNr);
    }

    private ReplayResult Replay(long from, long to, long max, string? persistenceId = null)
    {
        var probe = CreateTestProbe();
        Journal.Tell(new ReplayMessages(from, to, max, persistenceId ?? Pid, probe.Ref));
        return CollectReplay(probe);
    }

    /// <summary>Every ReplayedMessage up to the RecoverySuccess that ends a replay; a ReplayMessagesFailure fails the case.</summary>
    private static ReplayResult CollectReplay(TestProbe probe)
    {
        var events = new List<IPersistentRepresentation>();
        while (true)
        {
            switch (probe.ExpectMsg<object>(ReplyTimeout))
            {
                case ReplayedMessage replayed:
                    events.Add(replayed.Persistent);
                    break;
                case RecoverySuccess done:
                    return new ReplayResult(events, done.HighestSequenceNr);
                case var other:
                    Assert.Fail($"replay answered {other}");
                    break;
            }
        }
    }

    private void AssertReplay(ReplayResult replay, long highest, params long[] sequenceNrs) =>
        AssertReplay(replay, highest, Pid, sequenceNrs);

    /// <summary>The replay held exactly these events of the fixture's shape (payload a-n, not deleted), then the highest sequence number.</summary>
    private static void AssertReplay(ReplayResult replay, long highest, string persistenceId, params long[] sequenceNrs)
    {
        Assert.Equal(
            sequenceNrs.Select(n => (persistenceId, n, (string?)$"a-{n}", false)),
            replay.Events.Select(e => (e.PersistenceId, e.SequenceNr, e.Payload?.ToString(), e.IsDeleted)));
        Assert.Equal(highest, replay.HighestSequenceNr);
    }

    private static string NewPersistenceId() => $"conformance-{Guid.NewGuid():N}";

    private sealed record WriteReplies(object Summary, IReadOnlyList<object> PerEvent);

    private sealed record ReplayResult(IReadOnlyList<IPersistentRepresentation> Events, long HighestSequenceNr);

    /// <summary>The default JSON serializer cannot read this property, so the event cannot be stored.</summary>
    private sealed class Unserializable
    {
        public string Boom => throw new InvalidOperationException("cannot serialize");
    }
}

/// <summary>Names the running journal by its class.</summary>
internal static class JournalUnderTest
{
    public const string DirectSqliteWriter = "SqliteJournal";
    public const string PlainPlugin = "SqlWriteJournal";

    public static string Describe(IActorRef journal) => ((ActorRefWithCell)journal).Underlying.Props.Type.Name;
}
