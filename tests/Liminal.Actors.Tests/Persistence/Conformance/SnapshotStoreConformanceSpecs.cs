using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Persistence.Conformance;

// The snapshot store is Akka.Persistence.Sql's SqlSnapshotStore in every configuration (the journal class and
// the SQLite journal's writer do not touch it); only its database differs, so the cases run once per database.

/// <summary>SQLite as <c>SqlJournalConfig.Sqlite</c> ships it: snapshots in a file of their own beside the journal.</summary>
public sealed class SqliteSnapshotStoreConformance() : SnapshotStoreConformanceSpec(ConformanceConfigurations.Sqlite());

/// <summary>PostgreSQL as <c>SqlJournalConfig.PostgreSql</c> ships it.</summary>
public sealed class PostgreSqlSnapshotStoreConformance() : SnapshotStoreConformanceSpec(ConformanceConfigurations.PostgreSql())
{
    protected override void RequireDatabase() => PostgreSqlServer.Require();
}
