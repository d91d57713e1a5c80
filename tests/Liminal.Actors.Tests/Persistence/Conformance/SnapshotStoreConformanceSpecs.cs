using Akka.Configuration;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Persistence.Conformance;

/// <summary>
/// SQLite as <c>SqlJournalConfig.Sqlite</c> ships it: snapshots in a file of their own beside the journal, a recovery's
/// load read directly by SqliteSnapshotStore, everything else Akka.Persistence.Sql's own.
/// </summary>
public sealed class SqliteSnapshotStoreConformance() : SnapshotStoreConformanceSpec(ConformanceConfigurations.Sqlite())
{
    protected override string ExpectedSnapshotStore => "SqliteSnapshotStore";
}

/// <summary>Our SQLite configuration with Akka.Persistence.Sql's own SqlSnapshotStore (what ours can be swapped for).</summary>
public sealed class SqlitePlainPluginSnapshotStoreConformance() : SnapshotStoreConformanceSpec(
    ConfigurationFactory.ParseString("akka.persistence.snapshot-store.sql.class = \"Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql\"")
        .WithFallback(ConformanceConfigurations.Sqlite()))
{
    protected override string ExpectedSnapshotStore => "SqlSnapshotStore";
}

/// <summary>PostgreSQL as <c>SqlJournalConfig.PostgreSql</c> ships it: Akka.Persistence.Sql's own SqlSnapshotStore.</summary>
public sealed class PostgreSqlSnapshotStoreConformance() : SnapshotStoreConformanceSpec(ConformanceConfigurations.PostgreSql())
{
    protected override string ExpectedSnapshotStore => "SqlSnapshotStore";

    protected override void RequireDatabase() => PostgreSqlServer.Require();
}
