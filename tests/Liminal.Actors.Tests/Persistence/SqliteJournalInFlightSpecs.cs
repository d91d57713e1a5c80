using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit;
using Liminal.Actors.Offsets;
using Liminal.Actors.Persistence;
using Liminal.Actors.Tests.TestSupport;
using Microsoft.Data.Sqlite;

namespace Liminal.Actors.Tests.Persistence;

/// <summary>
/// The SQLite journal's writes in flight (4caff1c: the writer tracks each actor's latest write itself and answers null
/// when nothing is rejected), with the database's write lock held by another connection: the writer's transaction
/// waits inside SQLite, as behind a slow disk or a snapshot save, while reads (WAL) go on. That holds every write
/// provably in flight, and everything sent meanwhile lands in one transaction, with no sleeps.
/// </summary>
public abstract class SqliteJournalInFlightSpecs(TimeSpan callTimeout) : LiminalTestKit(TestDatabase.NewPath(), ConfigurationFactory.ParseString(
    $"akka.persistence.journal.sql.circuit-breaker.call-timeout = {(int)callTimeout.TotalMilliseconds}ms"))
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>Holds SQLite's write lock until disposed (a transaction of another connection that has begun writing).</summary>
    protected IDisposable HoldWriteLock()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        connection.Open();
        // BEGIN IMMEDIATE: the write lock is taken now, not at the first write.
        var transaction = connection.BeginTransaction(deferred: false);
        return new WriteLock(connection, transaction);
    }

    private sealed class WriteLock(SqliteConnection connection, SqliteTransaction transaction) : IDisposable
    {
        public void Dispose()
        {
            transaction.Rollback();
            connection.Dispose();
        }
    }
}

/// <summary>The journal protocol itself, as the conformance suite speaks it, against writes held by the lock.</summary>
public sealed class SqliteJournalWritesInFlightSpecs() : SqliteJournalInFlightSpecs(TimeSpan.FromMinutes(1))
{
    private const int ActorInstanceId = 1;
    private readonly string _writerGuid = Guid.NewGuid().ToString();

    private IActorRef Journal => Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);

    /// <summary>
    /// Several writes of one actor queued back to back (the first one waiting on the lock, the rest behind it in the
    /// writer's next transaction) with other actors' writes, a rejected one among them: a replay asked meanwhile waits
    /// for the latest write of its own actor and reports it, even after the older ones have ended; an actor whose only
    /// write was rejected replays none of it; each WriteMessages gets exactly its own answers.
    /// </summary>
    [Fact]
    public void A_replay_asked_while_writes_of_its_actor_wait_on_the_database_reports_the_latest_of_them()
    {
        var pid = NewPersistenceId();
        var other = NewPersistenceId();
        var rejectedOnly = NewPersistenceId();
        var untouched = NewPersistenceId();
        AssertWrites(Write([new AtomicWrite(Events(pid, 1, 5))]), [(pid, 1, true), (pid, 2, true), (pid, 3, true), (pid, 4, true), (pid, 5, true)]);

        TestProbe first, second, third, mixed, replay, rejectedReplay;
        using (HoldWriteLock())
        {
            first = Send(new AtomicWrite(Event(pid, 6)));
            second = Send(new AtomicWrite(Event(pid, 7)), new AtomicWrite(Event(other, 1)));
            mixed = Send(new AtomicWrite(Event(rejectedOnly, 1, new Unserializable())), new AtomicWrite(Event(other, 2)));
            third = Send(new AtomicWrite(Events(pid, 8, 9)));
            replay = Replay(pid);
            rejectedReplay = Replay(rejectedOnly);

            // The journal has taken both replays (it answers in order) and its reads are not blocked by the lock...
            var marker = Replay(untouched);
            Assert.Equal(0, CollectReplay(marker).Highest);
            // ...yet neither has answered: both wait for the writes of their actors.
            Assert.False(replay.HasMessages, "the replay answered while its actor's writes were still waiting on the database");
            Assert.False(rejectedReplay.HasMessages, "the replay answered while its actor's write was still waiting on the database");
        }

        AssertWrites(Answers(first, 1), [(pid, 6, true)]);
        AssertWrites(Answers(second, 2), [(pid, 7, true), (other, 1, true)]);
        AssertWrites(Answers(mixed, 2), [(rejectedOnly, 1, false), (other, 2, true)]);
        AssertWrites(Answers(third, 2), [(pid, 8, true), (pid, 9, true)]);
        var replayed = CollectReplay(replay);
        Assert.Equal(9, replayed.Highest);
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7, 8, 9], replayed.SequenceNrs);
        Assert.Equal((0L, 0), (CollectReplay(rejectedReplay).Highest, CollectReplay(Replay(rejectedOnly)).SequenceNrs.Count));
        Assert.Equal([1L, 2], CollectReplay(Replay(other)).SequenceNrs);
    }

    /// <summary>
    /// The older of two writes of one actor has ended (its answer is in) while the newer one, a large write, is still
    /// being written: a replay asked now must wait for the newer one. The writer must not stop tracking an actor when
    /// the older write ends.
    /// </summary>
    [Fact]
    public void A_replay_asked_after_the_older_of_two_writes_of_its_actor_ended_waits_for_the_newer_one()
    {
        var pid = NewPersistenceId();
        const int large = 20_000;
        // A first write creates the journal's tables.
        var other = NewPersistenceId();
        AssertWrites(Write([new AtomicWrite(Event(other, 1))]), [(other, 1, true)]);

        TestProbe older, newer;
        using (HoldWriteLock())
        {
            older = Send(new AtomicWrite(Event(pid, 1)));
            // A round trip through the journal: the writer has taken the older write into a transaction of its own.
            Assert.Equal(0, CollectReplay(Replay(NewPersistenceId())).Highest);
            newer = Send(new AtomicWrite(Events(pid, 2, large + 1)));
            Assert.Equal(0, CollectReplay(Replay(NewPersistenceId())).Highest);
        }

        AssertWrites(Answers(older, 1), [(pid, 1, true)]);
        var replayed = CollectReplay(Replay(pid));
        Assert.Equal((large + 1L, large + 1), (replayed.Highest, replayed.SequenceNrs.Count));
        Assert.IsType<WriteMessagesSuccessful>(newer.ExpectMsg<object>(Patience));
    }

    private TestProbe Send(params AtomicWrite[] writes)
    {
        var probe = CreateTestProbe();
        Journal.Tell(new WriteMessages(writes, probe.Ref, ActorInstanceId));
        return probe;
    }

    private List<object> Write(AtomicWrite[] writes) => Answers(Send(writes), writes.Sum(w => w.Size));

    /// <summary>The summary reply, then one reply per event.</summary>
    private static List<object> Answers(TestProbe probe, int events) =>
        [.. Enumerable.Range(0, events + 1).Select(_ => probe.ExpectMsg<object>(Patience))];

    private static void AssertWrites(List<object> answers, (string Pid, long SequenceNr, bool Stored)[] expected)
    {
        Assert.IsType<WriteMessagesSuccessful>(answers[0]);
        Assert.Equal(expected, answers.Skip(1).Select(answer => answer switch
        {
            WriteMessageSuccess s => (s.Persistent.PersistenceId, s.Persistent.SequenceNr, true),
            WriteMessageRejected r => (r.Persistent.PersistenceId, r.Persistent.SequenceNr, false),
            _ => throw new InvalidOperationException($"not a stored or rejected event: {answer}"),
        }));
    }

    private TestProbe Replay(string persistenceId)
    {
        var probe = CreateTestProbe();
        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, persistenceId, probe.Ref));
        return probe;
    }

    private static (long Highest, List<long> SequenceNrs) CollectReplay(TestProbe probe)
    {
        var sequenceNrs = new List<long>();
        while (true)
        {
            switch (probe.ExpectMsg<object>(Patience))
            {
                case ReplayedMessage replayed:
                    sequenceNrs.Add(replayed.Persistent.SequenceNr);
                    break;
                case RecoverySuccess done:
                    return (done.HighestSequenceNr, sequenceNrs);
                case var unexpected:
                    throw new InvalidOperationException($"replay answered {unexpected}");
            }
        }
    }

    private Persistent Event(string persistenceId, long sequenceNr, object? payload = null) =>
        new(payload ?? $"a-{sequenceNr}", sequenceNr, persistenceId, string.Empty, false, ActorRefs.NoSender, _writerGuid);

    private IImmutableList<IPersistentRepresentation> Events(string persistenceId, long from, long to) =>
        [.. Enumerable.Range((int)from, (int)(to - from + 1)).Select(n => Event(persistenceId, n))];

    /// <summary>
    /// Persistent actors whose writes share transactions, some of them rejected (an event that cannot be serialized),
    /// one actor with a stored and a rejected event in one WriteMessages: each actor's handler runs for exactly its
    /// stored events and <c>OnPersistRejected</c> for exactly its rejected ones, and after a restart of the process
    /// the stored events replay, the rejected ones do not, and writing goes on after the highest sequence number.
    /// </summary>
    [Fact]
    public void Stored_and_rejected_writes_of_many_actors_in_one_transaction_each_get_their_own_outcome_and_replay_as_stored()
    {
        var ids = Enumerable.Range(0, 12).Select(_ => NewPersistenceId()).ToList();
        var actors = ids.Select(id => Sys.ActorOf(NotesActor.Props(id))).ToList();
        // A first write per actor (tables created, every actor recovered), so that all the next ones are in flight together.
        for (var i = 0; i < actors.Count; i++)
            Assert.Equal($"noted {ids[i]}-0", Ask<string>(actors[i], new Note($"{ids[i]}-0", Serializable: true), CreateTestProbe()));

        var probes = actors.Select(_ => CreateTestProbe()).ToList();
        using (HoldWriteLock())
        {
            for (var i = 0; i < actors.Count; i++)
            {
                // Three kinds: stored, rejected, and one stored beside one rejected in the same WriteMessages.
                object command = (i % 3) switch
                {
                    0 => new Note($"{ids[i]}-1", Serializable: true),
                    1 => new Note($"{ids[i]}-1", Serializable: false),
                    _ => new NotePair($"{ids[i]}-1", $"{ids[i]}-2"),
                };
                actors[i].Tell(command, probes[i].Ref);
            }
        }

        for (var i = 0; i < actors.Count; i++)
        {
            string[] expected = (i % 3) switch
            {
                0 => [$"noted {ids[i]}-1"],
                1 => [$"rejected {ids[i]}-1"],
                _ => [$"noted {ids[i]}-1", $"rejected {ids[i]}-2"],
            };
            Assert.Equal(expected, expected.Select(_ => probes[i].ExpectMsg<string>(Patience)).Order(StringComparer.Ordinal));
        }

        Shutdown(Sys);
        var restarted = StartSystemOnSameDatabase();
        try
        {
            var probe = CreateTestProbe(restarted);
            for (var i = 0; i < ids.Count; i++)
            {
                var recovered = restarted.ActorOf(NotesActor.Props(ids[i]));
                string[] stored = (i % 3) is 1 ? [$"{ids[i]}-0"] : [$"{ids[i]}-0", $"{ids[i]}-1"];
                recovered.Tell(GetNotes.Instance, probe.Ref);
                Assert.Equal(stored, probe.ExpectMsg<string[]>(Patience));
                // The next event follows the highest sequence number the journal holds: nothing is written twice.
                recovered.Tell(new Note($"{ids[i]}-3", Serializable: true), probe.Ref);
                Assert.Equal($"noted {ids[i]}-3", probe.ExpectMsg<string>(Patience));
                recovered.Tell(GetNotes.Instance, probe.Ref);
                Assert.Equal(stored.Append($"{ids[i]}-3"), probe.ExpectMsg<string[]>(Patience));
            }
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    private sealed record Note(string Text, bool Serializable);

    /// <summary>Two events persisted by one command, each its own atomic write, in one WriteMessages; the second cannot be stored.</summary>
    private sealed record NotePair(string Stored, string Rejected);

    private sealed class GetNotes
    {
        public static readonly GetNotes Instance = new();
    }

    private sealed class NotesActor(string persistenceId) : UntypedPersistentActor
    {
        private readonly List<string> _notes = [];

        public static Props Props(string persistenceId) => Akka.Actor.Props.Create(() => new NotesActor(persistenceId));

        public override string PersistenceId { get; } = persistenceId;

        protected override void OnRecover(object message)
        {
            if (message is string note)
                _notes.Add(note);
        }

        protected override void OnCommand(object message)
        {
            switch (message)
            {
                case Note note:
                    Persist(note.Serializable ? note.Text : new UnserializableNote(note.Text), Noted(Sender));
                    break;
                case NotePair pair:
                    // Two atomic writes (PersistAll would make one, rejected whole), flushed in one WriteMessages.
                    PersistAsync<object>(pair.Stored, Noted(Sender));
                    PersistAsync<object>(new UnserializableNote(pair.Rejected), Noted(Sender));
                    break;
                case GetNotes:
                    Sender.Tell(_notes.ToArray());
                    break;
            }
        }

        private Action<object> Noted(IActorRef replyTo) => @event =>
        {
            var text = (string)@event;
            _notes.Add(text);
            replyTo.Tell($"noted {text}");
        };

        protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr) =>
            Sender.Tell($"rejected {((UnserializableNote)@event).Text}");
    }

    /// <summary>The default JSON serializer cannot read <see cref="Boom"/>, so this event cannot be stored.</summary>
    private sealed class UnserializableNote(string text)
    {
        public string Text => text;

        public string Boom => throw new InvalidOperationException("cannot serialize");
    }

    private static string NewPersistenceId() => $"inflight-{Guid.NewGuid():N}";

    /// <summary>The default JSON serializer cannot read this property, so the event cannot be stored.</summary>
    private sealed class Unserializable
    {
        public string Boom => throw new InvalidOperationException("cannot serialize");
    }
}

/// <summary>
/// An entity whose write times out (the breaker gives up after one second) while the database holds it: the entity
/// stops, its parent restarts it, and it recovers while the write is still under way.
/// </summary>
public sealed class SqliteJournalTimedOutWriteSpecs() : SqliteJournalInFlightSpecs(TimeSpan.FromSeconds(1))
{
    /// <summary>
    /// Its next incarnation must not recover from the journal as it is without that write, or it would answer from
    /// state the write then changes (and write its next event under the same sequence number): every read sent while
    /// the write is held is refused (retry), and once it lands it is read, stored once, and the next commit follows it.
    /// </summary>
    [Fact]
    public void An_offsets_record_whose_commit_timed_out_is_not_read_without_it_while_the_write_is_still_under_way()
    {
        var offsets = LiminalBus.StartOffsets(Sys, DefaultSettings with
        {
            Entities = DefaultSettings.Entities with { MinBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(200) },
        });
        Assert.Equal(new OffsetCommitted("billing", "orders-0", 5), Ask<OffsetCommitted>(offsets, new CommitOffset("billing", "orders-0", 5), CreateTestProbe()));

        using (HoldWriteLock())
        {
            // The breaker reports the write failed (outcome unknown); the record stops and is restarted.
            var timedOut = CreateTestProbe();
            offsets.Tell(new CommitOffset("billing", "orders-0", 10), timedOut.Ref);
            Assert.IsType<OffsetRequestRejected>(timedOut.ExpectMsg<object>(Patience));

            // Its restarted incarnations cannot finish recovering while the write is under way: reads are refused.
            for (var read = 0; read < 3; read++)
            {
                var reader = CreateTestProbe();
                offsets.Tell(new GetOffset("billing", "orders-0"), reader.Ref);
                var answer = reader.ExpectMsg<object>(Patience);
                Assert.True(answer is OffsetRequestRejected, $"read {read + 1} while the commit of 10 was still under way was answered {answer}");
            }
        }

        // The held write lands: the record reads it, once it recovers.
        AwaitAssert(() => Assert.Equal(new CurrentOffset("billing", "orders-0", 10), Ask<object>(offsets, new GetOffset("billing", "orders-0"), CreateTestProbe())),
            Patience, TimeSpan.FromMilliseconds(100));
        Assert.Equal(new OffsetCommitted("billing", "orders-0", 12), Ask<OffsetCommitted>(offsets, new CommitOffset("billing", "orders-0", 12), CreateTestProbe()));
        Assert.Equal(3, JournalRows("offsets-billing"));

        Shutdown(Sys);
        var restarted = StartSystemOnSameDatabase();
        try
        {
            var probe = CreateTestProbe(restarted);
            var recovered = LiminalBus.StartOffsets(restarted, DefaultSettings);
            Assert.Equal(new CurrentOffset("billing", "orders-0", 12), Ask<CurrentOffset>(recovered, new GetOffset("billing", "orders-0"), probe));
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
