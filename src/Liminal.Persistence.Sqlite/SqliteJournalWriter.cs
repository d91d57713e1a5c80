using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Sql.Config;
using Akka.Persistence.Sql.Journal.Dao;
using Akka.Persistence.Sql.Journal.Types;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Liminal.Persistence.Sqlite;

/// <summary>
/// Writes journal rows to SQLite directly: one transaction per group commit, a prepared insert per row, on a
/// thread of its own. The rows are the ones Akka.Persistence.Sql writes (same table, columns, serializer, manifest,
/// tag table), so its replay, queries and deletes read them unchanged.
/// </summary>
/// <remarks>
/// Measured with <c>bench dedup</c>: the plugin's write path (linq2db multi-row insert built as SQL text, a stream
/// stage and several thread-pool hops per transaction) took ~7 ms for a transaction SQLite itself commits in ~2 ms
/// on the same disk. Microsoft.Data.Sqlite is synchronous, so the dedicated thread also keeps the journal's blocking
/// I/O off the thread pool the actors run on.
/// </remarks>
internal sealed class SqliteJournalWriter : IDisposable
{
    private readonly string _connectionString;
    private readonly SqliteJournalTables _tables;
    private readonly ByteArrayJournalSerializer _serializer;
    private readonly BlockingCollection<PendingWrite> _queue = new();
    // The latest write of each actor with one in flight; recovery waits for it (see WhenWritten).
    private readonly Dictionary<string, PendingWrite> _inFlight = new(StringComparer.Ordinal);
    private readonly Thread _thread;
    private sqlite3_stmt? _insertRow;
    private sqlite3_stmt? _insertTag;
    private SqliteConnection? _connection;
    private readonly WalCheckpointer _checkpointer;
    private long _lastCheckpointRequest;

    public SqliteJournalWriter(ActorSystem system, JournalConfig config, SqliteJournalTables tables)
    {
        // The plugin's own serializer makes the rows, so they are exactly what its reads expect.
        _serializer = new ByteArrayJournalSerializer(config, system.Serialization, config.PluginConfig.TagSeparator, Guid.NewGuid().ToString("N"));
        _connectionString = config.ConnectionString;
        _tables = tables;
        _checkpointer = new WalCheckpointer(config.ConnectionString);
        _thread = new Thread(Run) { IsBackground = true, Name = "liminal-sqlite-journal" };
        _thread.Start();
    }

    /// <summary>
    /// Serializes writes with Akka.Persistence.Sql's serializer. Called as writes arrive, so it overlaps the database
    /// work of the write before; a serialization error rejects its own write alone.
    /// </summary>
    public IReadOnlyList<PreparedWrite> Prepare(IReadOnlyList<AtomicWrite> writes)
    {
        var serialized = _serializer.Serialize(writes, DateTime.UtcNow.Ticks);
        var prepared = new PreparedWrite[writes.Count];
        var i = 0;
        foreach (var rows in serialized)
        {
            prepared[i] = rows.Success.HasValue
                ? new PreparedWrite(writes[i].PersistenceId, rows.Success.Value, null)
                : new PreparedWrite(writes[i].PersistenceId, [], rows.Failure.Value);
            i++;
        }
        return prepared;
    }

    /// <summary>
    /// Writes the rows of every prepared write, in the writer's next transaction. The result is null when every
    /// write was stored, else one entry per write: null when written, its serialization error when rejected; a
    /// database error fails them all.
    /// </summary>
    public Task<IImmutableList<Exception>?> WriteAsync(IReadOnlyList<PreparedWrite> writes)
    {
        var pending = new PendingWrite(writes);
        lock (_inFlight)
            foreach (var write in writes)
                _inFlight[write.PersistenceId] = pending;
        _queue.Add(pending);
        return pending.Completion.Task;
    }

    /// <summary>
    /// Completes once the latest write of <paramref name="persistenceId"/> handed to the writer has ended (stored or
    /// failed; never faulted): a recovery must see a write whose answer timed out if it lands.
    /// </summary>
    public Task WhenWritten(string persistenceId)
    {
        lock (_inFlight)
            return _inFlight.TryGetValue(persistenceId, out var pending) ? pending.Ended : Task.CompletedTask;
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        _thread.Join();
        _queue.Dispose();
        _checkpointer.Dispose();
    }

    private void Run()
    {
        var batch = new List<PendingWrite>();
        foreach (var first in _queue.GetConsumingEnumerable())
        {
            // Group commit: everything that arrived while the last transaction was under way goes in this one.
            batch.Clear();
            batch.Add(first);
            while (_queue.TryTake(out var next))
                batch.Add(next);
            try
            {
                Write(batch);
                Ended(batch);
                foreach (var pending in batch)
                    pending.Completion.TrySetResult(Rejections(pending.Writes));
            }
            catch (Exception error)
            {
                // A broken connection is reopened for the next write.
                CloseConnection();
                Ended(batch);
                foreach (var pending in batch)
                    pending.Completion.TrySetException(error);
            }
        }
        CloseConnection();
    }

    /// <summary>The writes of <paramref name="batch"/> are no longer in flight: later ones of the same actors stay tracked.</summary>
    private void Ended(List<PendingWrite> batch)
    {
        lock (_inFlight)
            foreach (var pending in batch)
            foreach (var write in pending.Writes)
                if (_inFlight.TryGetValue(write.PersistenceId, out var latest) && latest == pending)
                    _inFlight.Remove(write.PersistenceId);
    }

    /// <summary>
    /// Null when every write was stored (Akka.Persistence reads null as "none rejected", which spares a list per
    /// write); else one entry per write, null for a stored one.
    /// </summary>
    private static IImmutableList<Exception>? Rejections(IReadOnlyList<PreparedWrite> writes)
    {
        foreach (var write in writes)
            if (write.Rejection is not null)
                return [.. writes.Select(w => w.Rejection!)];
        return null;
    }

    private void Write(List<PendingWrite> batch)
    {
        var connection = _connection ??= Open();
        using var transaction = connection.BeginTransaction();
        foreach (var pending in batch)
        foreach (var write in pending.Writes)
        foreach (var row in write.Rows)
            Insert(row);
        // A file deleted or moved while open is still written through this connection, and a restart never reads
        // what it holds: refused before the commit (rolled back, not stored), and after it (stored where no one
        // will look), so that no write is acknowledged unless it is in the file at the path.
        CheckFileInPlace(connection);
        transaction.Commit();
        CheckFileInPlace(connection);
        // Under load a transaction commits every millisecond or two, each adding pages to the WAL: a background
        // checkpoint every ~200 ms keeps the WAL small without any commit copying it.
        if (System.Diagnostics.Stopwatch.GetElapsedTime(_lastCheckpointRequest).TotalMilliseconds >= 200)
        {
            _lastCheckpointRequest = System.Diagnostics.Stopwatch.GetTimestamp();
            _checkpointer.Request();
        }
    }

    /// <summary>
    /// Fails when the database file this connection has open is no longer the one at its path (deleted, moved or
    /// replaced): SQLite's SQLITE_FCNTL_HAS_MOVED, one stat of the path.
    /// </summary>
    private static void CheckFileInPlace(SqliteConnection connection)
    {
        var result = sqlite3_file_control(connection.Handle!, MainDatabase, SqliteFcntlHasMoved, out var moved);
        if (result != raw.SQLITE_OK)
            throw new SqliteException($"SQLite could not tell whether {connection.DataSource} is still in place", result);
        if (moved != 0)
            throw new SqliteException($"the database file {connection.DataSource} was deleted or moved while the journal wrote it: " +
                                      "nothing written to it now would be read again", raw.SQLITE_IOERR);
    }

    private const int SqliteFcntlHasMoved = 20;
    private static readonly byte[] MainDatabase = "main\0"u8.ToArray();

    // Not in SQLitePCLRaw's API; e_sqlite3 is the library Microsoft.Data.Sqlite's bundle loads.
    [System.Runtime.InteropServices.DllImport("e_sqlite3", CallingConvention = System.Runtime.InteropServices.CallingConvention.Cdecl)]
    private static extern int sqlite3_file_control(sqlite3 db, byte[] databaseName, int operation, out int result);

    // SQLite's own API, bound by position: Microsoft.Data.Sqlite resolves every parameter by name on every
    // execution, which cost more than the insert itself.
    private void Insert(JournalRow row)
    {
        var insert = _insertRow!;
        Check(raw.sqlite3_bind_int64(insert, 1, row.Timestamp));
        Check(raw.sqlite3_bind_text(insert, 2, row.PersistenceId));
        Check(raw.sqlite3_bind_int64(insert, 3, row.SequenceNumber));
        Check(raw.sqlite3_bind_blob(insert, 4, row.Message));
        Check(BindTextOrNull(insert, 5, row.Manifest));
        Check(row.Identifier is { } identifier ? raw.sqlite3_bind_int(insert, 6, identifier) : raw.sqlite3_bind_null(insert, 6));
        Check(BindTextOrNull(insert, 7, row.WriterUuid));
        Step(insert);
        if (row.TagArray is not { Length: > 0 } tags)
            return;

        // The tag table refers to the journal row's ordering, the rowid SQLite just assigned.
        var ordering = raw.sqlite3_last_insert_rowid(_connection!.Handle);
        var insertTag = _insertTag!;
        foreach (var tag in tags)
        {
            Check(raw.sqlite3_bind_int64(insertTag, 1, ordering));
            Check(raw.sqlite3_bind_text(insertTag, 2, tag));
            Check(raw.sqlite3_bind_int64(insertTag, 3, row.SequenceNumber));
            Check(raw.sqlite3_bind_text(insertTag, 4, row.PersistenceId));
            Step(insertTag);
        }
    }

    private static int BindTextOrNull(sqlite3_stmt statement, int index, string? text) =>
        text is null ? raw.sqlite3_bind_null(statement, index) : raw.sqlite3_bind_text(statement, index, text);

    private void Step(sqlite3_stmt statement)
    {
        var result = raw.sqlite3_step(statement);
        raw.sqlite3_reset(statement);
        if (result != raw.SQLITE_DONE)
            Check(result);
    }

    private void Check(int result)
    {
        if (result is not (raw.SQLITE_OK or raw.SQLITE_DONE))
            throw new SqliteException(raw.sqlite3_errmsg(_connection!.Handle).utf8_to_string(), result);
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        _connection = connection;
        // While another connection (a snapshot save, a delete) holds SQLite's write lock, wait inside SQLite, which
        // retries within milliseconds, rather than in Microsoft.Data.Sqlite's retry loop, which sleeps 150 ms a try.
        Check(raw.sqlite3_busy_timeout(connection.Handle, 30_000));
        // The WalCheckpointer copies the WAL back in the background; SQLite's own checkpoint, which runs inside the
        // commit that crosses its threshold, is only the backstop should the background one fall behind.
        Check(raw.sqlite3_wal_autocheckpoint(connection.Handle, 100_000));
        _insertRow = Prepare(_tables.InsertRowSql);
        _insertTag = Prepare(_tables.InsertTagSql);
        return connection;
    }

    private sqlite3_stmt Prepare(string sql)
    {
        Check(raw.sqlite3_prepare_v2(_connection!.Handle, sql, out var statement));
        return statement;
    }

    private void CloseConnection()
    {
        _insertRow?.Dispose();
        _insertRow = null;
        _insertTag?.Dispose();
        _insertTag = null;
        _connection?.Dispose();
        _connection = null;
    }

    private sealed class PendingWrite(IReadOnlyList<PreparedWrite> writes)
    {
        public IReadOnlyList<PreparedWrite> Writes { get; } = writes;

        public TaskCompletionSource<IImmutableList<Exception>?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the write has ended, whether it was stored or failed.</summary>
        public Task Ended => Completion.Task.ContinueWith(static _ => { }, TaskScheduler.Default);
    }
}

/// <summary>The plugin's rows for one <see cref="AtomicWrite"/> of <c>PersistenceId</c>, or why it was rejected.</summary>
internal sealed record PreparedWrite(string PersistenceId, JournalRow[] Rows, Exception? Rejection);

/// <summary>
/// The statements on the journal's rows (INSERTs of a journal row and of a tag row; the replay and highest sequence
/// number SELECTs), for the tables and columns the plugin is configured with.
/// </summary>
internal sealed record SqliteJournalTables(string InsertRowSql, string InsertTagSql, string ReplaySql, string HighestSequenceNrSql)
{
    /// <summary>
    /// The statements for the plugin's configuration when this writer can write its tables (the <c>default</c>
    /// mapping, tags in the tag table, no schema); null otherwise, and the plugin writes.
    /// </summary>
    public static SqliteJournalTables? From(JournalConfig config, Akka.Configuration.Config journalConfig)
    {
        var tables = config.TableConfig;
        if (journalConfig.GetString("table-mapping", "default") != "default" ||
            config.PluginConfig.TagMode != TagMode.TagTable ||
            !string.IsNullOrEmpty(tables.SchemaName) ||
            !tables.EventJournalTable.UseWriterUuidColumn ||
            journalConfig.GetBoolean("delete-compatibility-mode", false))
            return null;
        var journal = tables.EventJournalTable.ColumnNames;
        var tag = tables.TagTable.ColumnNames;
        // Parameters by position: created, id, sequence, message, manifest, serializer, writer; then ordering, tag, sequence, id.
        return new SqliteJournalTables(
            $"INSERT INTO {Quote(tables.EventJournalTable.Name)} ({Quote(journal.Created)}, {Quote(journal.Deleted)}, {Quote(journal.PersistenceId)}, " +
            $"{Quote(journal.SequenceNumber)}, {Quote(journal.Message)}, {Quote(journal.Manifest)}, {Quote(journal.Identifier)}, {Quote(journal.WriterUuid)}) " +
            "VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6, ?7)",
            $"INSERT INTO {Quote(tables.TagTable.Name)} ({Quote(tag.OrderingId)}, {Quote(tag.Tag)}, {Quote(tag.SequenceNumber)}, {Quote(tag.PersistenceId)}) " +
            "VALUES (?1, ?2, ?3, ?4)",
            // Columns by position: sequence, message, manifest, serializer, writer, created.
            $"SELECT {Quote(journal.SequenceNumber)}, {Quote(journal.Message)}, {Quote(journal.Manifest)}, {Quote(journal.Identifier)}, " +
            $"{Quote(journal.WriterUuid)}, {Quote(journal.Created)} FROM {Quote(tables.EventJournalTable.Name)} " +
            $"WHERE {Quote(journal.PersistenceId)} = $id AND {Quote(journal.SequenceNumber)} >= $from AND {Quote(journal.SequenceNumber)} <= $to " +
            $"AND {Quote(journal.Deleted)} = 0 ORDER BY {Quote(journal.SequenceNumber)} LIMIT $max",
            $"SELECT MAX({Quote(journal.SequenceNumber)}) FROM {Quote(tables.EventJournalTable.Name)} " +
            $"WHERE {Quote(journal.PersistenceId)} = $id AND {Quote(journal.SequenceNumber)} >= $from");
    }

    internal static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";
}
