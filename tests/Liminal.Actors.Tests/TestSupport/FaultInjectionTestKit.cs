using Akka.Configuration;
using Akka.Persistence.TestKit;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>
/// A TestKit on Akka.Persistence.TestKit's in-memory journal, whose writes the test makes fail on demand. Used
/// only for fault injection; every durability claim is proven on SQLite by the other specs.
/// </summary>
public abstract class FaultInjectionTestKit : LiminalTestKit
{
    private static readonly Config TestJournalConfig = ConfigurationFactory.ParseString("""
            akka.persistence.journal.plugin = "akka.persistence.journal.test"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.test"
            """)
        .WithFallback(ConfigurationFactory.FromResource<TestJournal>("Akka.Persistence.TestKit.config.conf"));

    protected FaultInjectionTestKit() : base(TestJournalConfig) { }

    /// <summary>The in-memory journal with <paramref name="overlay"/> over it (e.g. a longer journal call timeout).</summary>
    protected FaultInjectionTestKit(Config overlay) : base(overlay.WithFallback(TestJournalConfig)) { }

    protected ITestJournal Journal => TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null));
}
