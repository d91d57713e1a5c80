using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Persistence;
using Liminal.Actors.Tests.TestSupport;
using Microsoft.Data.Sqlite;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// The SQLite database file at unusual paths, and deleted while the bus runs: the bus starts, writes and recovers
/// wherever the path points, and a file that vanished is never created anew and empty, nor written on as if it
/// were still there.
/// </summary>
public sealed class VanishingDatabaseAttacks : LiminalTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData("with spaces/in the name.db")]
    [InlineData("semi;colon=equals/a;b=c.db")]
    [InlineData("quotes/\"double\" and 'single'.db")]
    [InlineData("back\\slash and $dollar {brace}/x.db")]
    [InlineData("ünïcödé/数据 ☃.db")]
    [InlineData("uri/file:like?mode=memory&cache=shared.db")]
    [InlineData("not/yet/there/at/all.db")]
    public void The_bus_writes_snapshots_and_recovers_on_a_database_path_that_needs_quoting(string relativeName)
    {
        var root = Path.Combine(Path.GetTempPath(), "liminal-tests", $"paths-{Guid.NewGuid():N}");
        WritesSnapshotsAndRecovers(Path.Combine(root, relativeName));
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void The_bus_writes_snapshots_and_recovers_on_a_relative_database_path_in_a_directory_not_yet_there()
    {
        var directory = $"liminal-relative-{Guid.NewGuid():N}";
        Assert.False(Directory.Exists(directory));
        WritesSnapshotsAndRecovers(Path.Combine(directory, "sub", "liminal.db"));
        Directory.Delete(directory, recursive: true);
    }

    private void WritesSnapshotsAndRecovers(string databasePath)
    {
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING")
            .WithFallback(SqlJournalConfig.Sqlite(databasePath)).WithFallback(LiminalSettings.DefaultConfig);
        var settings = DefaultSettings with { SnapshotEvery = 1 };
        var first = ActorSystem.Create($"first-{Guid.NewGuid():N}", config);
        try
        {
            var conversations = LiminalBus.Start(first, settings).Conversations;
            var probe = CreateTestProbe(first);
            Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c1", "m"), probe);
            for (var step = 0; step < 3; step++)
                Assert.Equal(new EventRecorded("c1", step + 2), Ask<EventRecorded>(conversations, new RecordStepCompleted("c1", "m", step, [(byte)step]), probe));
        }
        finally
        {
            Shutdown(first);
        }

        Assert.True(File.Exists(databasePath), $"no journal at {databasePath}");
        Assert.True(Rows(databasePath, "SELECT COUNT(*) FROM journal WHERE persistence_id = 'conversation-c1'") >= 4, "the journal rows are not in the file at the path");
        Assert.True(Rows(SqlJournalConfig.SnapshotPathFor(databasePath), "SELECT COUNT(*) FROM snapshot WHERE persistence_id = 'conversation-c1'") >= 1,
            "the snapshots are not in the file beside it");
        // Nothing else was created beside them (a database at a path mangled by quoting).
        var expected = new[] { Path.GetFileName(databasePath), Path.GetFileName(SqlJournalConfig.SnapshotPathFor(databasePath)) };
        var beside = Directory.GetFiles(Path.GetDirectoryName(Path.GetFullPath(databasePath))!).Select(Path.GetFileName)
            .Where(name => !expected.Any(e => name!.StartsWith(e + "-"))).Order().ToList();
        Assert.Equal(expected.Order(), beside);

        var second = ActorSystem.Create($"second-{Guid.NewGuid():N}", config);
        try
        {
            var recovered = LiminalBus.Start(second, settings).Conversations;
            var state = Ask<ConversationSnapshot>(recovered, new GetConversationState("c1"), CreateTestProbe(second));
            Assert.Equal(4, state.LastSequenceNr);
            Assert.Equal(Enumerable.Range(0, 3).Select(s => new CompletedStep("m", s, [(byte)s])), state.CompletedSteps);
        }
        finally
        {
            Shutdown(second);
        }
        SqliteConnection.ClearAllPools();
    }

    private static long Rows(string databasePath, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            { DataSource = databasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar());
    }

    [Fact]
    public void After_the_database_file_is_deleted_while_the_bus_runs_no_write_is_acknowledged_as_stored()
    {
        var dedup = LiminalBus.Start(Sys, DefaultSettings with { DedupShards = 1 }).Dedup;
        Assert.IsType<DedupDecision.Claimed>(Ask<DedupDecision>(dedup, new ClaimOrGet("before")));

        // Deleted, not moved: the open writer's connection still writes the unlinked file, whose rows no restart
        // will ever read. Acknowledging them loses them.
        File.Delete(DatabasePath);
        var reply = Ask<object>(dedup, new ClaimOrGet("after"));
        Assert.True(reply is DedupRejected { Reason: DedupRejection.PersistFailed }, $"a claim after the database was deleted was answered {reply}");
        Assert.False(File.Exists(DatabasePath), "a database was created in the deleted one's place");
    }

    [Fact]
    public void After_the_database_file_is_moved_while_the_bus_runs_a_write_is_refused_and_not_stored_in_the_moved_file()
    {
        var conversations = LiminalBus.Start(Sys, DefaultSettings).Conversations;
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c1", "m"));
        var rows = JournalRows("conversation-");

        File.Move(DatabasePath, DatabasePath + ".moved");
        conversations.Tell(new RecordStepCompleted("c1", "m", 0, [1]), TestActor);
        var reply = ExpectMsg<object>(Patience);
        Assert.False(reply is EventRecorded, $"a step recorded after the database was moved was answered {reply}");

        // Refused before its commit: the moved file (which a restart on the old path would not read) holds nothing of it.
        File.Move(DatabasePath + ".moved", DatabasePath);
        Assert.Equal(rows, JournalRows("conversation-"));
    }

    [Fact]
    public void After_the_database_files_are_deleted_no_reconnect_checkpoint_snapshot_save_or_delete_creates_them_anew()
    {
        var settings = DefaultSettings with { DedupShards = 1, SnapshotEvery = 1 };
        var bus = LiminalBus.Start(Sys, settings);
        Assert.IsType<DedupDecision.Claimed>(Ask<DedupDecision>(bus.Dedup, new ClaimOrGet("before")));
        Ask<RedeliveryDecision.Start>(bus.Conversations, new ReceiveMessage("c1", "m"));
        var snapshots = SqlJournalConfig.SnapshotPathFor(DatabasePath);
        File.Delete(DatabasePath);
        File.Delete(snapshots);
        // Pooled connections hold the unlinked files open; every new connection must fail.
        SqliteConnection.ClearAllPools();

        // The writer's next write, whatever its outcome, then its reconnects.
        for (var i = 0; i < 3; i++)
            Ask<object>(bus.Dedup, new ClaimOrGet($"after-{i}"));
        Ask<object>(bus.Conversations, new RecordStepCompleted("c1", "m", 0, [1]));
        var persistence = Akka.Persistence.Persistence.Instance.Apply(Sys);
        var journal = persistence.JournalFor(null);
        var store = persistence.SnapshotStoreFor(null);
        // The plugin's own connections: a snapshot save, a delete (retention), a load bounded by time.
        store.Tell(new SaveSnapshot(new SnapshotMetadata("p1", 1, DateTime.UtcNow), "state"), TestActor);
        ExpectMsg<SaveSnapshotFailure>(Patience);
        store.Tell(new LoadSnapshot("p1", new SnapshotSelectionCriteria(long.MaxValue, DateTime.UtcNow), long.MaxValue), TestActor);
        ExpectMsg<LoadSnapshotFailed>(Patience);
        journal.Tell(new DeleteMessagesTo("dedup-shard-0", 1, TestActor), TestActor);
        ExpectMsg<DeleteMessagesFailure>(Patience);
        journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, "conversation-c1", TestActor), TestActor);
        ExpectMsg<ReplayMessagesFailure>(Patience);

        Assert.False(File.Exists(DatabasePath), "a journal database was created in the deleted one's place");
        Assert.False(File.Exists(snapshots), "a snapshot database was created in the deleted one's place");
    }
}
