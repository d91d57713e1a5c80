using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;

namespace Liminal.Actors.Persistence;

/// <summary>
/// Akka.Persistence.Sql's journal with group commit across actors: while one database write is under way, the
/// writes of every other persistent actor queue up and go to the database together, in one transaction, when it
/// completes. Measured on SQLite (<c>bench journal</c>): the plain journal does one transaction per actor's write,
/// about 2,000 a second, so 100 actors with one event each in flight got ~2,000 events/s; batched, throughput
/// follows the events per transaction instead.
/// </summary>
/// <remarks>
/// Each actor's own writes stay in order (a persistent actor never sends a write before its previous one is
/// confirmed). A batch is all-or-nothing in the database; every actor in a failed batch gets the failure, which is
/// what the plain journal does for its own write. Highest-sequence-number reads wait for the actor's queued or
/// in-flight write, as the plain journal does for in-flight ones. On SQLite the rows are written by
/// <see cref="SqliteJournalWriter"/>, which group-commits on its own thread (<c>direct-sqlite-writes = off</c> in the
/// journal's configuration hands writing back to the plugin); reads, queries and deletes are always the plugin's.
/// </remarks>
public class GroupCommitSqlJournal(Akka.Configuration.Config journalConfig) : SqlWriteJournal(journalConfig)
{
    private readonly object _lock = new();
    private List<QueuedWrite> _queued = [];
    private bool _writing;
    private readonly Dictionary<string, Task> _latestByPersistenceId = new(StringComparer.Ordinal);
    private readonly Metrics.LiminalMetrics _metrics = Metrics.LiminalMetrics.For(Context.System);
    private readonly SqliteJournalWriter? _sqlite = SqliteWriterFor(journalConfig);

    // SQLite's rows are written by Liminal's own writer (see SqliteJournalWriter); other databases by the plugin.
    private static SqliteJournalWriter? SqliteWriterFor(Akka.Configuration.Config journalConfig)
    {
        var hocon = journalConfig.WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultJournalConfiguration);
        var config = new Akka.Persistence.Sql.Config.JournalConfig(hocon);
        if (!hocon.GetBoolean("direct-sqlite-writes", true) ||
            !config.ProviderName.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase) ||
            SqliteJournalTables.From(config, hocon) is not { } tables)
            return null;
        return new SqliteJournalWriter(Context.System, config, tables, Metrics.LiminalMetrics.For(Context.System).JournalWritten);
    }

    protected override void PostStop()
    {
        _sqlite?.Dispose();
        base.PostStop();
    }

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages.ToList();
        if (_sqlite is not null)
            return WriteToSqlite(writes);
        var write = new QueuedWrite(writes);
        TrackUntilWritten(writes, write.Completion.Task);
        lock (_lock)
        {
            _queued.Add(write);
            if (_writing)
                return write.Completion.Task;
            _writing = true;
        }
        WriteQueued();
        return write.Completion.Task;
    }

    // The SQLite writer group-commits on its own thread: whatever arrives while it writes goes in its next transaction.
    private Task<IImmutableList<Exception>> WriteToSqlite(List<AtomicWrite> writes)
    {
        var written = _sqlite!.WriteAsync(_sqlite.Prepare(writes));
        TrackUntilWritten(writes, written);
        return written;
    }

    /// <summary>Highest-sequence-number reads of these writes' actors wait for <paramref name="written"/> until it completes.</summary>
    private void TrackUntilWritten(List<AtomicWrite> writes, Task written)
    {
        lock (_lock)
            foreach (var write in writes)
                _latestByPersistenceId[write.PersistenceId] = written;
        written.ContinueWith(task =>
        {
            lock (_lock)
                foreach (var write in writes)
                    if (_latestByPersistenceId.TryGetValue(write.PersistenceId, out var latest) && latest == task)
                        _latestByPersistenceId.Remove(write.PersistenceId);
        }, TaskContinuationOptions.ExecuteSynchronously);
    }

    protected override bool ReceivePluginInternal(object message)
    {
        if (message is not BatchWritten)
            return base.ReceivePluginInternal(message);
        lock (_lock)
        {
            if (_queued.Count == 0)
            {
                _writing = false;
                return true;
            }
        }
        WriteQueued();
        return true;
    }

    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        Task? pending;
        lock (_lock)
            _latestByPersistenceId.TryGetValue(persistenceId, out pending);
        if (pending is not null)
            await pending.ContinueWith(_ => { }, TaskScheduler.Default);
        return await base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);
    }

    /// <summary>Sends everything queued as one write; runs on the journal actor, as the base class expects.</summary>
    private void WriteQueued()
    {
        List<QueuedWrite> batch;
        lock (_lock)
        {
            batch = _queued;
            _queued = [];
        }

        Task<IImmutableList<Exception>> written;
        try
        {
            written = base.WriteMessagesAsync(batch.SelectMany(w => w.Writes).ToList(), CancellationToken.None);
        }
        catch (Exception error)
        {
            written = Task.FromException<IImmutableList<Exception>>(error);
        }

        var self = Self;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var metrics = _metrics;
        written.ContinueWith(task =>
        {
            metrics.JournalWritten(System.Diagnostics.Stopwatch.GetElapsedTime(started));
            Distribute(batch, task);
            self.Tell(BatchWritten.Instance);
        }, TaskContinuationOptions.ExecuteSynchronously);
    }

    /// <summary>Hands each queued write its own slice of the batch's per-AtomicWrite results.</summary>
    private static void Distribute(List<QueuedWrite> batch, Task<IImmutableList<Exception>> task)
    {
        if (!task.IsCompletedSuccessfully)
        {
            var error = task.Exception?.InnerException ?? new OperationCanceledException("journal write canceled");
            foreach (var write in batch)
                write.Completion.TrySetException(error);
            return;
        }

        var results = task.Result;
        var offset = 0;
        foreach (var write in batch)
        {
            write.Completion.TrySetResult(results is null
                ? null!
                : results.Skip(offset).Take(write.Writes.Count).ToImmutableList());
            offset += write.Writes.Count;
        }
    }

    private sealed class QueuedWrite(List<AtomicWrite> writes)
    {
        public List<AtomicWrite> Writes { get; } = writes;

        public TaskCompletionSource<IImmutableList<Exception>> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class BatchWritten : INoSerializationVerificationNeeded
    {
        public static readonly BatchWritten Instance = new();
    }
}
