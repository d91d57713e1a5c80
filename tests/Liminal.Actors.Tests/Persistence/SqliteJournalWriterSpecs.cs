using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Liminal.Actors.Dedup;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Persistence;

/// <summary>
/// On SQLite Liminal writes journal rows itself; Akka.Persistence.Sql still reads them. These specs use an actor
/// that is not Liminal's (plain strings, tags) to show the rows are the plugin's own format.
/// </summary>
public sealed class SqliteJournalWriterSpecs : LiminalTestKit
{
    [Fact]
    public async Task Tagged_events_are_read_back_by_tag_by_persistence_id_and_by_recovery()
    {
        var writer = Sys.ActorOf(Props.Create(() => new NotesActor("notes-1")));
        writer.Tell(new Note("first", ["red"]));
        writer.Tell(new Note("second", ["red", "blue"]));
        writer.Tell(new Note("third", []));
        ExpectMsg("first");
        ExpectMsg("second");
        ExpectMsg("third");

        var queries = PersistenceQuery.Get(Sys).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var materializer = Sys.Materializer();
        var red = await queries.CurrentEventsByTag("red", Offset.NoOffset()).Select(e => (string)e.Event).RunWith(Sink.Seq<string>(), materializer);
        var blue = await queries.CurrentEventsByTag("blue", Offset.NoOffset()).Select(e => (string)e.Event).RunWith(Sink.Seq<string>(), materializer);
        var all = await queries.CurrentEventsByPersistenceId("notes-1", 0, long.MaxValue).RunWith(Sink.Seq<EventEnvelope>(), materializer);
        Assert.Equal(["first", "second"], red);
        Assert.Equal(["second"], blue);
        Assert.Equal([("first", 1L), ("second", 2L), ("third", 3L)], all.Select(e => ((string)e.Event, e.SequenceNr)));
        Assert.Equal(["first", "second", "third"], NotesAfterRestart("notes-1"));
    }

    [Fact]
    public void An_event_that_cannot_be_serialized_is_rejected_alone_and_nothing_of_it_is_stored()
    {
        var writer = Sys.ActorOf(Props.Create(() => new NotesActor("notes-2")));
        writer.Tell(new Note("kept", []));
        ExpectMsg("kept");

        writer.Tell(new Unserializable());
        ExpectMsg<Rejected>();

        writer.Tell(new Note("also kept", []));
        ExpectMsg("also kept");
        Assert.Equal(2, JournalRows("notes-2"));
        Assert.Equal(["kept", "also kept"], NotesAfterRestart("notes-2"));
    }

    [Fact]
    public void A_database_error_fails_the_writes_of_its_transaction_and_writing_resumes_once_it_clears()
    {
        var dedup = LiminalBus.Start(Sys, DefaultSettings with { DedupShards = 1 }).Dedup;
        Ask<DedupDecision.Claimed>(dedup, new ClaimOrGet("before"));

        ExecuteSql("ALTER TABLE journal RENAME TO journal_away");
        Assert.Equal(DedupRejection.PersistFailed, Ask<DedupRejected>(dedup, new ClaimOrGet("during")).Reason);

        ExecuteSql("ALTER TABLE journal_away RENAME TO journal");
        // The shard restarts from the journal: the failed claim was never stored, the earlier one was.
        Assert.IsType<DedupDecision.Claimed>(Ask<object>(dedup, new ClaimOrGet("during")));
        Assert.IsType<DedupDecision.InFlight>(Ask<KeyStatus>(dedup, new LookupKey("before")).Decision);
        Assert.Equal(2, JournalRows("dedup-"));
    }

    /// <summary>What the actor recovers in a new actor system on the same database.</summary>
    private string[] NotesAfterRestart(string persistenceId)
    {
        Shutdown(Sys);
        var restarted = StartSystemOnSameDatabase();
        try
        {
            var probe = CreateTestProbe(restarted);
            restarted.ActorOf(Props.Create(() => new NotesActor(persistenceId))).Tell(GetNotes.Instance, probe);
            return probe.ExpectMsg<string[]>();
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    private sealed record Note(string Text, string[] Tags);

    private sealed class GetNotes
    {
        public static readonly GetNotes Instance = new();
    }

    private sealed record Rejected;

    /// <summary>The default JSON serializer cannot read this property, so the event cannot be stored.</summary>
    private sealed class Unserializable
    {
        public string Boom => throw new InvalidOperationException("cannot serialize");
    }

    private sealed class NotesActor(string persistenceId) : UntypedPersistentActor
    {
        private readonly List<string> _notes = [];

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
                    object @event = note.Tags.Length == 0 ? note.Text : new Tagged(note.Text, note.Tags);
                    Persist(@event, _ =>
                    {
                        _notes.Add(note.Text);
                        Sender.Tell(note.Text);
                    });
                    break;
                case Unserializable unserializable:
                    Persist(unserializable, _ => { });
                    break;
                case GetNotes:
                    Sender.Tell(_notes.ToArray());
                    break;
            }
        }

        protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr) => Sender.Tell(new Rejected());
    }
}
