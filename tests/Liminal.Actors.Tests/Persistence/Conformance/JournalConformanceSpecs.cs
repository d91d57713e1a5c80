using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Persistence.Conformance;

/// <summary>SQLite as <c>SqlJournalConfig.Sqlite</c> ships it: GroupCommitSqlJournal, rows written by SqliteJournalWriter.</summary>
public sealed class SqliteJournalConformance() : JournalConformanceSpec(ConformanceConfigurations.Sqlite())
{
    protected override string ExpectedJournal => JournalUnderTest.DirectSqliteWriter;
}

/// <summary>SQLite with <c>direct-sqlite-writes = off</c>: GroupCommitSqlJournal's queue into the plugin's writes.</summary>
public sealed class SqliteThroughPluginJournalConformance() : JournalConformanceSpec(ConformanceConfigurations.SqliteThroughPlugin())
{
    protected override string ExpectedJournal => JournalUnderTest.GroupCommitQueue;
}

/// <summary>PostgreSQL as <c>SqlJournalConfig.PostgreSql</c> ships it: GroupCommitSqlJournal's queue into the plugin.</summary>
public sealed class PostgreSqlJournalConformance() : JournalConformanceSpec(ConformanceConfigurations.PostgreSql())
{
    protected override string ExpectedJournal => JournalUnderTest.GroupCommitQueue;

    protected override void RequireDatabase() => PostgreSqlServer.Require();
}

/// <summary>Our SQLite configuration with Akka.Persistence.Sql's own SqlWriteJournal.</summary>
public sealed class SqlitePlainPluginJournalConformance() : JournalConformanceSpec(ConformanceConfigurations.PlainPlugin(ConformanceConfigurations.Sqlite()))
{
    protected override string ExpectedJournal => JournalUnderTest.PlainPlugin;
}

/// <summary>Our PostgreSQL configuration with Akka.Persistence.Sql's own SqlWriteJournal.</summary>
public sealed class PostgreSqlPlainPluginJournalConformance() : JournalConformanceSpec(ConformanceConfigurations.PlainPlugin(ConformanceConfigurations.PostgreSql()))
{
    protected override string ExpectedJournal => JournalUnderTest.PlainPlugin;

    protected override void RequireDatabase() => PostgreSqlServer.Require();
}
