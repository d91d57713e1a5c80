using Akka.Configuration;
using Liminal.Actors.Persistence;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Persistence.Conformance;

/// <summary>
/// Every journal and snapshot-store configuration Liminal ships, each a fresh SQLite file per case or the shared
/// PostgreSQL database (<c>LIMINAL_TEST_POSTGRES</c>).
/// </summary>
internal static class ConformanceConfigurations
{
    /// <summary><see cref="SqlJournalConfig.Sqlite"/> as shipped: SqliteJournal with the direct SQLite writer.</summary>
    public static Config Sqlite() => SqlJournalConfig.Sqlite(TestDatabase.NewPath());

    public static Config PostgreSql() => SqlJournalConfig.PostgreSql(PostgreSqlServer.ConnectionString);

    /// <summary>Our configuration with Akka.Persistence.Sql's own journal class in place of ours.</summary>
    public static Config PlainPlugin(Config config) =>
        ConfigurationFactory.ParseString($"akka.persistence.journal.sql.class = \"{SqlJournalConfig.PluginJournalClass}\"").WithFallback(config);
}
