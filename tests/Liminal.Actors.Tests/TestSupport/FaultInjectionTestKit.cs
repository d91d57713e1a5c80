using Akka.Configuration;
using Akka.Persistence.TestKit;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>
/// A TestKit on Akka.Persistence.TestKit's in-memory journal, whose writes the test makes fail on demand. Used
/// only for fault injection; every durability claim is proven on SQLite by the other specs.
/// </summary>
public abstract class FaultInjectionTestKit() : LiminalTestKit(TestJournalConfig)
{
    private static readonly Config TestJournalConfig = ConfigurationFactory.ParseString("""
            akka.persistence.journal.plugin = "akka.persistence.journal.test"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.test"
            """)
        .WithFallback(ConfigurationFactory.FromResource<TestJournal>("Akka.Persistence.TestKit.config.conf"));

    protected ITestJournal Journal => TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null));
}
