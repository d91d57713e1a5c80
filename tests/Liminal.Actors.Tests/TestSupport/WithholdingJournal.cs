using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;
using Liminal.Persistence.Sqlite;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>What becomes of the write a <see cref="Withholding"/> holds.</summary>
public enum WithheldOutcome
{
    /// <summary>Stored; the journal answers success once released (a timeout if its breaker gives up first).</summary>
    Stored,

    /// <summary>Stored; once released the journal reports the write failed (the connection dropped after the commit).</summary>
    StoredThenFailed,

    /// <summary>Not stored; once released the journal reports the write failed (the connection dropped before it).</summary>
    Failed,
}

/// <summary>
/// What a journal write in flight looks like to the test: the first write of an armed persistence-id prefix is held
/// until the test releases it, and then ends as <see cref="WithheldOutcome"/> says. With <see cref="WithheldOutcome.Stored"/>
/// and a short breaker <c>call-timeout</c> it is a journal timeout where the database commits late: the breaker reports
/// a failure for a write that is in fact stored.
/// </summary>
public sealed class Withholding
{
    // Keyed by the system itself: TestKit systems of classes running in parallel share a name.
    private static readonly ConcurrentDictionary<ActorSystem, Withholding> BySystem = new();

    private Withholding(string prefix, WithheldOutcome outcome) => (Prefix, Outcome) = (prefix, outcome);

    public string Prefix { get; }

    public WithheldOutcome Outcome { get; }

    /// <summary>
    /// Completes once the withheld write has reached the journal: stored in the database, unless the outcome is
    /// <see cref="WithheldOutcome.Failed"/>.
    /// </summary>
    public TaskCompletionSource Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The answer of the withheld write goes out once this completes.</summary>
    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int _taken;

    /// <summary>Withholds the answer to the next write of <paramref name="prefix"/> in the actor system <paramref name="system"/>.</summary>
    public static Withholding Arm(ActorSystem system, string prefix, WithheldOutcome outcome = WithheldOutcome.Stored) =>
        BySystem[system] = new Withholding(prefix, outcome);

    /// <summary>HOCON for a journal of class <typeparamref name="TJournal"/> whose breaker gives up after <paramref name="callTimeout"/>.</summary>
    public static Config JournalConfig<TJournal>(TimeSpan callTimeout) => ConfigurationFactory.ParseString($$"""
        akka.persistence.journal.sql {
          class = "{{typeof(TJournal).FullName}}, {{typeof(TJournal).Assembly.GetName().Name}}"
          circuit-breaker.call-timeout = {{(int)callTimeout.TotalMilliseconds}}ms
        }
        """);

    internal static Task<IImmutableList<Exception>> Answer(ActorSystem system, IReadOnlyList<AtomicWrite> writes, Func<Task<IImmutableList<Exception>>> write)
    {
        if (!BySystem.TryGetValue(system, out var armed) ||
            !writes.Any(w => w.PersistenceId.StartsWith(armed.Prefix, StringComparison.Ordinal)) ||
            Interlocked.Exchange(ref armed._taken, 1) == 1)
            return write();
        return armed.WithheldAsync(write);
    }

    private async Task<IImmutableList<Exception>> WithheldAsync(Func<Task<IImmutableList<Exception>>> write)
    {
        var result = Outcome == WithheldOutcome.Failed ? null : await write();
        Stored.TrySetResult();
        await Release.Task;
        // Thrown, not returned per write: a failure (outcome unknown to the journal's caller), not a rejection.
        return Outcome == WithheldOutcome.Stored
            ? result!
            : throw new InvalidOperationException($"test: the journal connection dropped during this write ({Outcome})");
    }
}

/// <summary>Liminal's SQLite journal (<see cref="SqliteJournal"/>) with <see cref="Withholding"/>.</summary>
public sealed class WithholdingSqliteJournal(Config journalConfig) : SqliteJournal(journalConfig)
{
    private readonly ActorSystem _system = Context.System;

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages.ToList();
        return Withholding.Answer(_system, writes, () => base.WriteMessagesAsync(writes, cancellationToken));
    }
}

/// <summary>Akka.Persistence.Sql's journal as shipped (what PostgreSQL runs on) with <see cref="Withholding"/>.</summary>
public sealed class WithholdingPluginJournal(Config journalConfig) : SqlWriteJournal(journalConfig)
{
    private readonly ActorSystem _system = Context.System;

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages.ToList();
        return Withholding.Answer(_system, writes, () => base.WriteMessagesAsync(writes, cancellationToken));
    }
}
