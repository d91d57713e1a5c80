using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;
using Liminal.Persistence.Sqlite;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>
/// What a journal timeout looks like when the database commits late: the first write of an armed persistence-id
/// prefix goes to the database as usual, but its answer is held back until the test releases it, so the journal's
/// circuit breaker (<c>call-timeout</c>) reports a failure for a write that is in fact stored.
/// </summary>
public sealed class Withholding
{
    // Keyed by the system itself: TestKit systems of classes running in parallel share a name.
    private static readonly ConcurrentDictionary<ActorSystem, Withholding> BySystem = new();

    private Withholding(string prefix) => Prefix = prefix;

    public string Prefix { get; }

    /// <summary>Completes once the withheld write is stored in the database.</summary>
    public TaskCompletionSource Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The answer of the withheld write goes out once this completes.</summary>
    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int _taken;

    /// <summary>Withholds the answer to the next write of <paramref name="prefix"/> in the actor system <paramref name="system"/>.</summary>
    public static Withholding Arm(ActorSystem system, string prefix) => BySystem[system] = new Withholding(prefix);

    /// <summary>HOCON for a journal of class <typeparamref name="TJournal"/> whose breaker gives up after <paramref name="callTimeout"/>.</summary>
    public static Config JournalConfig<TJournal>(TimeSpan callTimeout) => ConfigurationFactory.ParseString($$"""
        akka.persistence.journal.sql {
          class = "{{typeof(TJournal).FullName}}, {{typeof(TJournal).Assembly.GetName().Name}}"
          circuit-breaker.call-timeout = {{(int)callTimeout.TotalMilliseconds}}ms
        }
        """);

    internal static Task<IImmutableList<Exception>> Answer(ActorSystem system, IReadOnlyList<AtomicWrite> writes, Task<IImmutableList<Exception>> written)
    {
        if (!BySystem.TryGetValue(system, out var armed) ||
            !writes.Any(w => w.PersistenceId.StartsWith(armed.Prefix, StringComparison.Ordinal)) ||
            Interlocked.Exchange(ref armed._taken, 1) == 1)
            return written;
        return armed.WithheldAsync(written);
    }

    private async Task<IImmutableList<Exception>> WithheldAsync(Task<IImmutableList<Exception>> written)
    {
        var result = await written;
        Stored.TrySetResult();
        await Release.Task;
        return result;
    }
}

/// <summary>Liminal's SQLite journal (<see cref="SqliteJournal"/>) with <see cref="Withholding"/>.</summary>
public sealed class WithholdingSqliteJournal(Config journalConfig) : SqliteJournal(journalConfig)
{
    private readonly ActorSystem _system = Context.System;

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages.ToList();
        return Withholding.Answer(_system, writes, base.WriteMessagesAsync(writes, cancellationToken));
    }
}

/// <summary>Akka.Persistence.Sql's journal as shipped (what PostgreSQL runs on) with <see cref="Withholding"/>.</summary>
public sealed class WithholdingPluginJournal(Config journalConfig) : SqlWriteJournal(journalConfig)
{
    private readonly ActorSystem _system = Context.System;

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages.ToList();
        return Withholding.Answer(_system, writes, base.WriteMessagesAsync(writes, cancellationToken));
    }
}
