using Liminal.Actors.Conversations;
using Liminal.Actors.Persistence;
using Liminal.Persistence.Sqlite;
using Liminal.Actors.Tests.TestSupport;
using Microsoft.Data.Sqlite;

namespace Liminal.Actors.Tests.Persistence;

/// <summary>Writes of many actors share database transactions, and each actor still recovers exactly its own log.</summary>
public sealed class SqliteJournalSpecs : LiminalTestKit
{
    [Fact]
    public void Concurrent_writers_in_shared_transactions_each_recover_their_own_events_in_order()
    {
        var conversations = LiminalBus.Start(Sys, DefaultSettings).Conversations;
        var ids = Enumerable.Range(0, 200).Select(i => $"c{i}").ToList();
        // All requests in flight at once, so many conversations' writes queue behind each other.
        foreach (var id in ids)
        {
            conversations.Tell(new ReceiveMessage(id, "m"), TestActor);
            for (var step = 0; step < 4; step++)
                conversations.Tell(new RecordStepCompleted(id, "m", step, [(byte)step]), TestActor);
        }
        // Each message's records wait for the one before (they depend on it): five journal round trips in all.
        ExpectMsgAllOf(TimeSpan.FromSeconds(60), ids.SelectMany(id => new object[]
        {
            new RedeliveryDecision.Start(), new EventRecorded(id, 2), new EventRecorded(id, 3), new EventRecorded(id, 4), new EventRecorded(id, 5),
        }).ToArray());
        Assert.Equal(1000, JournalRows("conversation-"));
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, DefaultSettings).Conversations;
            var probe = CreateTestProbe(restarted);
            foreach (var id in ids)
            {
                var state = Ask<ConversationSnapshot>(recovered, new GetConversationState(id), probe);
                Assert.Equal(5, state.LastSequenceNr);
                Assert.Equal(Enumerable.Range(0, 4).Select(s => new CompletedStep("m", s, [(byte)s])), state.CompletedSteps);
            }
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    [Fact]
    public void A_database_file_that_vanishes_while_the_bus_runs_fails_recoveries_and_is_never_created_anew_and_empty()
    {
        var conversations = LiminalBus.Start(Sys, DefaultSettings).Conversations;
        conversations.Tell(new ReceiveMessage("c1", "m"), TestActor);
        ExpectMsg<RedeliveryDecision.Start>();
        File.Move(DatabasePath, DatabasePath + ".moved");
        File.Move(SqlJournalConfig.SnapshotPathFor(DatabasePath), SqlJournalConfig.SnapshotPathFor(DatabasePath) + ".moved");

        // Idle pooled connections still read the moved file (as the open writer still writes it); new ones are
        // what matters: an empty database in the old one's place would answer a recovering entity "nothing stored".
        SqliteConnection.ClearAllPools();

        var persistence = Akka.Persistence.Persistence.Instance.Apply(Sys);
        persistence.JournalFor(null).Tell(new Akka.Persistence.ReplayMessages(1, long.MaxValue, long.MaxValue, "conversation-c1", TestActor), TestActor);
        Assert.Contains("unable to open database file", ExpectMsg<Akka.Persistence.ReplayMessagesFailure>().Cause.Message);
        persistence.SnapshotStoreFor(null).Tell(new Akka.Persistence.LoadSnapshot("conversation-c1", Akka.Persistence.SnapshotSelectionCriteria.Latest, long.MaxValue), TestActor);
        Assert.Contains("unable to open database file", ExpectMsg<Akka.Persistence.LoadSnapshotFailed>().Cause.Message);
        Assert.False(File.Exists(DatabasePath), "the journal created a database in the vanished one's place");
        Assert.False(File.Exists(SqlJournalConfig.SnapshotPathFor(DatabasePath)), "the snapshot store created a database in the vanished one's place");
    }

    [Fact]
    public void The_journal_runs_only_on_the_Akka_Persistence_Sql_version_its_writer_was_written_against()
    {
        // The version the build resolved is the one the writer supports...
        SqliteJournal.CheckPluginVersion(typeof(Akka.Persistence.Sql.Journal.SqlWriteJournal).Assembly.GetName().Version);

        // ...and any other is refused with what to do instead, before a row is written.
        var refused = Assert.Throws<NotSupportedException>(() => SqliteJournal.CheckPluginVersion(new Version(1, 5, 74, 0)));
        Assert.Contains("1.5.74", refused.Message);
        Assert.Contains(SqliteJournal.SupportedPluginVersion.ToString(), refused.Message);
        Assert.Contains(SqlJournalConfig.PluginJournalClass, refused.Message);
    }
}
