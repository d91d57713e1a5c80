using Akka.Persistence;
using Akka.Persistence.Sql.Config;
using Akka.Persistence.Sql.Snapshot;
using Microsoft.Data.Sqlite;

namespace Liminal.Persistence.Sqlite;

/// <summary>
/// Akka.Persistence.Sql's snapshot store for SQLite with the load of a recovery (the latest snapshot, up to a sequence
/// number) read directly: the plugin's first query of a process compiles linq2db's mapping and query, which cost
/// most of a second of every restart (<c>docs/PERFORMANCE.md</c>). Saves, deletes and loads bounded by time are the
/// plugin's own, unchanged; rows are read by the plugin's rules (serializer id and manifest, or a type name).
/// </summary>
public class SqliteSnapshotStore : SqlSnapshotStore
{
    private readonly string? _loadSql;
    private readonly string _connectionString;
    private readonly Akka.Serialization.Serialization _serialization;

    public SqliteSnapshotStore(Akka.Configuration.Config snapshotConfig) : base(SqliteSchema.CreateSnapshotTable(snapshotConfig))
    {
        SqliteJournal.CheckPluginVersion(typeof(SqlSnapshotStore).Assembly.GetName().Version);
        var config = new SnapshotConfig(snapshotConfig.WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultSnapshotConfiguration));
        if (!config.ProviderName.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase))
            throw new NotSupportedException($"{nameof(SqliteSnapshotStore)} reads SQLite only; provider '{config.ProviderName}' uses Akka.Persistence.Sql's own snapshot store class");
        _connectionString = config.ConnectionString;
        _serialization = Context.System.Serialization;
        var table = config.TableConfig.SnapshotTable;
        // The default mapping stores `created` as ticks; other mappings are left to the plugin.
        if (snapshotConfig.GetString("table-mapping", "default") == "default" && string.IsNullOrEmpty(config.TableConfig.SchemaName))
        {
            var columns = table.ColumnNames;
            _loadSql =
                $"SELECT {SqliteJournalTables.Quote(columns.SequenceNumber)}, {SqliteJournalTables.Quote(columns.Created)}, {SqliteJournalTables.Quote(columns.Snapshot)}, {SqliteJournalTables.Quote(columns.Manifest)}, " +
                $"{SqliteJournalTables.Quote(columns.SerializerId)} FROM {SqliteJournalTables.Quote(table.Name)} WHERE {SqliteJournalTables.Quote(columns.PersistenceId)} = $id " +
                $"AND {SqliteJournalTables.Quote(columns.SequenceNumber)} <= $max ORDER BY {SqliteJournalTables.Quote(columns.SequenceNumber)} DESC LIMIT 1";
        }
    }

    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        _loadSql is null || criteria.MaxTimeStamp != DateTime.MaxValue
            ? base.LoadAsync(persistenceId, criteria, cancellationToken)
            // Microsoft.Data.Sqlite is synchronous: read on a pool thread, never on the store actor's.
            : Task.Run(() => Load(persistenceId, criteria.MaxSequenceNr), cancellationToken);

    private SelectedSnapshot? Load(string persistenceId, long maxSequenceNr)
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = _loadSql;
        command.Parameters.AddWithValue("$id", persistenceId);
        command.Parameters.AddWithValue("$max", maxSequenceNr);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
            return null;
        var payload = (byte[])reader.GetValue(2);
        var manifest = reader.IsDBNull(3) ? "" : reader.GetString(3);
        var snapshot = SqliteJournalReader.DeserializeRow(_serialization, payload, reader.IsDBNull(4) ? null : reader.GetInt32(4), manifest);
        return new SelectedSnapshot(new SnapshotMetadata(persistenceId, reader.GetInt64(0), new DateTime(reader.GetInt64(1))), snapshot);
    }
}
