using Akka.Actor;
using Akka.Configuration;
using Liminal.Actors.Persistence;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>
/// A TestKit whose actor system journals to its own SQLite file on disk and reads time from a fake clock
/// the test advances. (<c>serialize-messages</c> stays off: Akka.Persistence.Sql's internal messages carry
/// tasks and are lost under it; <c>ProtocolSerializationSpecs</c> proves our messages cross the wire instead.)
/// </summary>
public abstract class LiminalTestKit : Akka.TestKit.Xunit2.TestKit
{
    private const string TestHocon = """
        akka {
          loglevel = WARNING
          # Replies are awaited up to 3 s x 4: a first journal use in a new actor system took over 6 s on a
          # shared 2-core machine at load 20-30 (KeyedPublishSpecs waiting for Subscribed). No spec waits that long
          # when it passes; the few ExpectNoMsg windows (200-500 ms) grow with the factor too.
          test.timefactor = 4
        }
        """;

    protected LiminalTestKit() : this(TestDatabase.NewPath()) { }

    /// <summary>An SQLite journal at <paramref name="databasePath"/>, e.g. a copy of a fixture written by an older version.</summary>
    protected LiminalTestKit(string databasePath) : this(SqlJournalConfig.Sqlite(databasePath))
    {
        DatabasePath = databasePath;
    }

    /// <summary>An SQLite journal at <paramref name="databasePath"/> with <paramref name="overlay"/> over it (e.g. <see cref="CrashOnTerminate"/>).</summary>
    protected LiminalTestKit(string databasePath, Config overlay) : this(overlay.WithFallback(SqlJournalConfig.Sqlite(databasePath)))
    {
        DatabasePath = databasePath;
    }

    /// <summary>
    /// Terminating an actor system is then a crash: CoordinatedShutdown does not run, so the bus does not drain its
    /// publishes in flight; the actors just stop, as in a process that dies.
    /// </summary>
    protected static Config CrashOnTerminate { get; } =
        ConfigurationFactory.ParseString("akka.coordinated-shutdown.run-by-actor-system-terminate = off");

    /// <summary>The given journal configuration instead of SQLite (fault injection, PostgreSQL).</summary>
    protected LiminalTestKit(Config journalConfig) : base(WithTestDefaults(journalConfig))
    {
        JournalConfig = journalConfig;
        DatabasePath = "";
    }

    private Config JournalConfig { get; }

    private static Config WithTestDefaults(Config journalConfig) =>
        ConfigurationFactory.ParseString(TestHocon).WithFallback(journalConfig).WithFallback(LiminalSettings.DefaultConfig);

    protected string DatabasePath { get; }

    protected FakeTimeProvider Clock { get; } = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));

    protected LiminalSettings DefaultSettings => new() { Clock = Clock };

    /// <summary>Sends <paramref name="request"/> from <paramref name="from"/> (the test actor by default) and returns its reply.</summary>
    protected T Ask<T>(IActorRef target, object request, Akka.TestKit.TestProbe? from = null)
    {
        target.Tell(request, from?.Ref ?? TestActor);
        return from is null ? ExpectMsg<T>() : from.ExpectMsg<T>();
    }

    /// <summary>A second actor system on the same database: what a restarted process sees.</summary>
    protected ActorSystem StartSystemOnSameDatabase() =>
        ActorSystem.Create($"restarted-{Guid.NewGuid():N}", WithTestDefaults(JournalConfig));

    /// <summary>Events written to the journal for persistence ids starting with <paramref name="prefix"/>.</summary>
    protected long JournalRows(string prefix) =>
        Scalar(DatabasePath, "journal", "SELECT COUNT(*) FROM journal WHERE persistence_id LIKE $prefix || '%'", prefix);

    protected long SnapshotRows(string prefix) =>
        Scalar(SqlJournalConfig.SnapshotPathFor(DatabasePath), "snapshot", "SELECT COUNT(*) FROM snapshot WHERE persistence_id LIKE $prefix || '%'", prefix);

    /// <summary>The sequence number of the newest snapshot of <paramref name="persistenceId"/>, 0 when none.</summary>
    protected long LatestSnapshotSequenceNr(string persistenceId) =>
        SnapshotRows(persistenceId) == 0 ? 0 : Scalar(SqlJournalConfig.SnapshotPathFor(DatabasePath), "snapshot", "SELECT MAX(sequence_number) FROM snapshot WHERE persistence_id = $prefix", persistenceId);

    /// <summary>Deletes journal events up to <paramref name="toSequenceNr"/>, as retention behind a snapshot may.</summary>
    protected void DeleteJournalRows(string persistenceId, long toSequenceNr)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM journal WHERE persistence_id = $id AND sequence_number <= $to";
        command.Parameters.AddWithValue("$id", persistenceId);
        command.Parameters.AddWithValue("$to", toSequenceNr);
        command.ExecuteNonQuery();
    }

    /// <summary>Runs a statement on the test database from a connection of its own (e.g. to break the journal).</summary>
    protected void ExecuteSql(string sql)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    protected IReadOnlyList<string> JournalManifests(string prefix)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT manifest FROM journal WHERE persistence_id LIKE $prefix || '%' ORDER BY ordering";
        command.Parameters.AddWithValue("$prefix", prefix);
        using var reader = command.ExecuteReader();
        var manifests = new List<string>();
        while (reader.Read())
            manifests.Add(reader.GetString(0));
        return manifests;
    }

    /// <summary>The newest <paramref name="count"/> journal rows as "persistence id: manifest", newest last (for a failure's message).</summary>
    protected IReadOnlyList<string> JournalTail(int count)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT persistence_id, manifest FROM (SELECT * FROM journal ORDER BY ordering DESC LIMIT $count) ORDER BY ordering";
        command.Parameters.AddWithValue("$count", count);
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
            rows.Add($"{reader.GetString(0)}: {reader.GetString(1)}");
        return rows;
    }

    private static long Scalar(string databasePath, string table, string sql, string prefix)
    {
        using var connection = Open(databasePath);
        // The journal creates its tables on first use: no table yet means nothing was written.
        using (var exists = connection.CreateCommand())
        {
            exists.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $table";
            exists.Parameters.AddWithValue("$table", table);
            if (Convert.ToInt64(exists.ExecuteScalar()) == 0)
                return 0;
        }
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$prefix", prefix);
        return Convert.ToInt64(command.ExecuteScalar());
    }

    private SqliteConnection Open() => Open(DatabasePath);

    private static SqliteConnection Open(string databasePath)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath }.ToString());
        connection.Open();
        return connection;
    }
}

public static class TestDatabase
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "liminal-tests", Environment.ProcessId.ToString());

    /// <summary>A fresh database path per test, so parallel test classes never share a file.</summary>
    public static string NewPath() => Path.Combine(Root, $"{Guid.NewGuid():N}.db");
}
