using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace Liminal.Actors.Persistence;

/// <summary>Akka.Persistence.Sql HOCON for the journal, snapshot store and query journal Liminal runs on.</summary>
public static class SqlJournalConfig
{
    public const string SqliteProvider = "SQLite.MS";
    public const string PostgreSqlProvider = "PostgreSQL.15";

    /// <summary>
    /// An SQLite database file (created with its directory when missing) in WAL mode, written by a single
    /// journal writer that batches the events of all actors into one transaction.
    /// </summary>
    public static Config Sqlite(string databasePath)
    {
        var fullPath = Path.GetFullPath(databasePath);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        var connectionString = new SqliteConnectionStringBuilder { DataSource = fullPath }.ToString();
        EnableWriteAheadLog(connectionString);
        // SQLite allows one writer at a time; concurrent journal writers only meet its busy-wait, so the
        // journal gets one writer with larger batches instead of the default three.
        return Build(connectionString, SqliteProvider, parallelism: 1, batchSize: 1000);
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

    /// <summary>A PostgreSQL database reached through an Npgsql connection string.</summary>
    public static Config PostgreSql(string connectionString) =>
        Build(connectionString, PostgreSqlProvider, parallelism: 4, batchSize: 100);

    // WAL is a property of the database file, so it is set once before the journal opens it.
    private static void EnableWriteAheadLog(string connectionString)
    {
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }

    private static Config Build(string connectionString, string provider, int parallelism, int batchSize)
    {
        var quoted = Quote(connectionString);
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  class = "Liminal.Actors.Persistence.GroupCommitSqlJournal, Liminal.Actors"
                  connection-string = {{quoted}}
                  provider-name = "{{provider}}"
                  auto-initialize = true
                  parallelism = {{parallelism}}
                  batch-size = {{batchSize}}
                }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
                  connection-string = {{quoted}}
                  provider-name = "{{provider}}"
                  auto-initialize = true
                }
              }
              query.journal.sql {
                class = "Akka.Persistence.Sql.Query.SqlReadJournalProvider, Akka.Persistence.Sql"
                connection-string = {{quoted}}
                provider-name = "{{provider}}"
              }
            }
            """);
    }

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
