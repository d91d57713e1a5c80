using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace Liminal.Actors.Persistence;

/// <summary>Akka.Persistence.Sql HOCON for the journal, snapshot store and query journal Liminal runs on.</summary>
public static class SqlJournalConfig
{
    public const string SqliteProvider = "SQLite.MS";
    public const string PostgreSqlProvider = "PostgreSQL.15";

    /// <summary>Liminal's SQLite journal: the plugin's, with writes group-committed across actors (Liminal.Persistence.Sqlite).</summary>
    public const string SqliteJournalClass = "Liminal.Persistence.Sqlite.SqliteJournal, Liminal.Persistence.Sqlite";

    /// <summary>Akka.Persistence.Sql's snapshot store with a recovery's load read directly (<c>SqliteSnapshotStore</c>).</summary>
    public const string SqliteSnapshotStoreClass = "Liminal.Persistence.Sqlite.SqliteSnapshotStore, Liminal.Persistence.Sqlite";

    private const string PluginSnapshotStoreClass = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql";

    /// <summary>Akka.Persistence.Sql's journal as shipped.</summary>
    public const string PluginJournalClass = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql";

    /// <summary>
    /// An SQLite database file (created with its directory when missing) in WAL mode, written by a single
    /// journal writer that batches the events of all actors into one transaction; snapshots go to a file of
    /// their own beside it (<see cref="SnapshotPathFor"/>).
    /// </summary>
    /// <remarks>
    /// SQLite has one write lock per file. A snapshot of a shard holding tens of thousands of keys takes it for
    /// milliseconds, and every journal write of every actor waited meanwhile (bench dedup, interleaved: p99
    /// 47.6-47.9 -> 37.4-40.9 ms, p99.9 81-82 -> 61-67 ms with the snapshots in their own file). A lost or
    /// stale snapshot file only makes recovery replay more of the journal.
    /// </remarks>
    public static Config Sqlite(string databasePath)
    {
        var journal = OpenWithWriteAheadLog(databasePath);
        var snapshots = OpenWithWriteAheadLog(SnapshotPathFor(databasePath));
        // SQLite allows one writer at a time; concurrent journal writers only meet its busy-wait, so the
        // journal gets one writer with larger batches instead of the default three.
        return Build(journal, snapshots, SqliteProvider, SqliteJournalClass, parallelism: 1, batchSize: 1000,
            readIsolationLevel: SqliteReadIsolationLevel, snapshotStoreClass: SqliteSnapshotStoreClass);
    }

    /// <summary>
    /// The plugin reads inside a transaction of its read isolation level, and Microsoft.Data.Sqlite opens every level
    /// but read-uncommitted (the plugin's default "unspecified" included) with <c>BEGIN IMMEDIATE</c>: each recovery's
    /// read took SQLite's write lock, queued behind the journal writer's transaction and held up the next one
    /// (bench conversations: 10-20 ms a read, ~300 ms with 50 recoveries at once). Read-uncommitted opens a plain
    /// (deferred) <c>BEGIN</c>: a read of the last committed state of the WAL, no lock. Its only other effect, reading
    /// another connection's uncommitted rows, exists in SQLite's shared-cache mode alone, which Liminal never opens.
    /// </summary>
    private const string SqliteReadIsolationLevel = "read-uncommitted";

    /// <summary>The snapshot file beside an SQLite journal: <c>data/liminal.db</c> keeps its snapshots in <c>data/liminal.snapshots.db</c>.</summary>
    public static string SnapshotPathFor(string databasePath)
    {
        var fullPath = Path.GetFullPath(databasePath);
        return Path.Combine(Path.GetDirectoryName(fullPath)!,
            Path.GetFileNameWithoutExtension(fullPath) + ".snapshots" + Path.GetExtension(fullPath));
    }

    /// <summary>
    /// Raises the thread pool's minimum so journal I/O cannot starve the actors. Microsoft.Data.Sqlite runs its
    /// "async" calls synchronously, so every journal write, snapshot and recovery query holds a pool thread;
    /// at start-up dozens of shards recover at once and, with the default minimum (one per core), the pool
    /// grows by about one thread a second: seconds of stall, measured here. Call it once per process.
    /// </summary>
    public static void ReserveThreadsForBlockingIo(int minimum = 64)
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, minimum), Math.Max(io, minimum));
    }

    /// <summary>
    /// A PostgreSQL database reached through an Npgsql connection string, written by Akka.Persistence.Sql's own
    /// journal: PostgreSQL batches concurrent writers itself, and the plugin as shipped measured faster there than
    /// Liminal's cross-actor group commit (docs/PERFORMANCE.md).
    /// </summary>
    public static Config PostgreSql(string connectionString) =>
        Build(connectionString, connectionString, PostgreSqlProvider, PluginJournalClass, parallelism: 4, batchSize: 100,
            readIsolationLevel: "unspecified");

    /// <summary>
    /// Creates the database file when missing and sets WAL, a property of the file, once before the journal opens it.
    /// The connection string returned opens the file only if it exists: every later connection (the journal's, the
    /// snapshot store's, the plugin's) fails on a database that vanished while the bus runs, where SQLite's default
    /// would create an empty one and recover every entity from it as new, while the open writer kept writing the old.
    /// </summary>
    private static string OpenWithWriteAheadLog(string databasePath)
    {
        var fullPath = Path.GetFullPath(databasePath);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = fullPath }.ToString()))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL;";
            command.ExecuteNonQuery();
        }
        return new SqliteConnectionStringBuilder { DataSource = fullPath, Mode = SqliteOpenMode.ReadWrite }.ToString();
    }

    private static Config Build(string connectionString, string snapshotConnectionString, string provider, string journalClass, int parallelism, int batchSize,
        string readIsolationLevel, string snapshotStoreClass = PluginSnapshotStoreClass)
    {
        var quoted = Quote(connectionString);
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  class = "{{journalClass}}"
                  connection-string = {{quoted}}
                  provider-name = "{{provider}}"
                  auto-initialize = true
                  parallelism = {{parallelism}}
                  batch-size = {{batchSize}}
                  read-isolation-level = {{readIsolationLevel}}
                }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  class = "{{snapshotStoreClass}}"
                  connection-string = {{Quote(snapshotConnectionString)}}
                  provider-name = "{{provider}}"
                  auto-initialize = true
                  read-isolation-level = {{readIsolationLevel}}
                }
              }
              query.journal.sql {
                class = "Akka.Persistence.Sql.Query.SqlReadJournalProvider, Akka.Persistence.Sql"
                connection-string = {{quoted}}
                provider-name = "{{provider}}"
                read-isolation-level = {{readIsolationLevel}}
              }
            }
            """);
    }

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
