using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Persistence.Conformance;

/// <summary>SQLite as <c>SqlJournalConfig.Sqlite</c> ships it: SqliteJournal, rows written by SqliteJournalWriter.</summary>
public sealed class SqliteJournalConformance() : JournalConformanceSpec(ConformanceConfigurations.Sqlite())
{
    protected override string ExpectedJournal => JournalUnderTest.DirectSqliteWriter;
}

/// <summary>Our SQLite configuration with Akka.Persistence.Sql's own SqlWriteJournal (what the writer can be swapped for).</summary>
public sealed class SqlitePlainPluginJournalConformance() : JournalConformanceSpec(ConformanceConfigurations.PlainPlugin(ConformanceConfigurations.Sqlite()))
{
    protected override string ExpectedJournal => JournalUnderTest.PlainPlugin;
}

/// <summary>PostgreSQL as <c>SqlJournalConfig.PostgreSql</c> ships it: Akka.Persistence.Sql's own SqlWriteJournal.</summary>
public sealed class PostgreSqlJournalConformance() : JournalConformanceSpec(ConformanceConfigurations.PostgreSql())
{
    protected override string ExpectedJournal => JournalUnderTest.PlainPlugin;

    protected override void RequireDatabase() => PostgreSqlServer.Require();
}
