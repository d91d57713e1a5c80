using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace Liminal.Persistence.Sqlite;

/// <summary>
/// Creates Akka.Persistence.Sql's SQLite tables (default names and columns) with plain SQL, exactly as the plugin's
/// <c>auto-initialize</c> creates them, so a process start does not wait for linq2db to build its mapping just to run
/// CREATE TABLE IF NOT EXISTS (measured: ~0.5 s of the first publish after start, <c>docs/PERFORMANCE.md</c>).
/// </summary>
internal static class SqliteSchema
{
    private const string JournalDdl = """
        CREATE TABLE IF NOT EXISTS [journal]
        (
        	[ordering]        INTEGER        NOT NULL PRIMARY KEY AUTOINCREMENT,
        	[created]         INTEGER        NOT NULL,
        	[deleted]         Bit            NOT NULL,
        	[persistence_id]  NVarChar(255)  NOT NULL,
        	[sequence_number] INTEGER        NOT NULL,
        	[message]         VarBinary      NOT NULL,
        	[manifest]        NVarChar(500)      NULL,
        	[identifier]      INTEGER            NULL,
        	[writer_uuid]     NVarChar(128)      NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS journal_uq ON journal (persistence_id, sequence_number);
        CREATE INDEX IF NOT EXISTS journal_created_idx ON journal (created);
        CREATE INDEX IF NOT EXISTS journal_sequence_number_idx ON journal (sequence_number);
        CREATE TABLE IF NOT EXISTS [tags]
        (
        	[ordering_id]    INTEGER       NOT NULL,
        	[tag]            NVarChar(64)  NOT NULL,
        	[sequence_nr]    INTEGER       NOT NULL,
        	[persistence_id] NVarChar(255) NOT NULL,

        	CONSTRAINT [PK_tags] PRIMARY KEY ([ordering_id], [tag])
        );
        CREATE INDEX IF NOT EXISTS tags_persistence_id_sequence_nr_idx ON tags (persistence_id, sequence_nr);
        CREATE INDEX IF NOT EXISTS tags_tag_idx ON tags (tag);
        """;

    private const string SnapshotDdl = """
        CREATE TABLE IF NOT EXISTS [snapshot]
        (
        	[persistence_id]  NVarChar(255) NOT NULL,
        	[sequence_number] INTEGER       NOT NULL,
        	[created]         INTEGER       NOT NULL,
        	[snapshot]        VarBinary         NULL,
        	[manifest]        NVarChar(500)     NULL,
        	[serializer_id]   INTEGER           NULL,

        	CONSTRAINT [PK_snapshot] PRIMARY KEY ([persistence_id], [sequence_number])
        );
        CREATE INDEX IF NOT EXISTS snapshot_sequence_number_idx ON snapshot (sequence_number);
        CREATE INDEX IF NOT EXISTS snapshot_created_idx ON snapshot (created);
        """;

    private static readonly Config WithoutAutoInitialize = ConfigurationFactory.ParseString("auto-initialize = off");

    /// <summary>
    /// The plugin configuration to run with once the journal tables exist: when the configuration asks for them
    /// (<c>auto-initialize</c>) and names the plugin's default tables, they are created here and the plugin is told
    /// not to; any other naming is left to the plugin.
    /// </summary>
    public static Config CreateJournalTables(Config journalConfig) =>
        Create(journalConfig, Akka.Persistence.Sql.SqlPersistence.DefaultJournalConfiguration, JournalDdl,
            "tables.default.journal.table-name", "journal", "tables.default.tag.table-name", "tags");

    /// <summary>As <see cref="CreateJournalTables"/>, for the snapshot store's table.</summary>
    public static Config CreateSnapshotTable(Config snapshotConfig) =>
        Create(snapshotConfig, Akka.Persistence.Sql.SqlPersistence.DefaultSnapshotConfiguration, SnapshotDdl,
            "tables.default.snapshot.table-name", "snapshot");

    private static Config Create(Config pluginConfig, Config defaults, string ddl, params string[] pathsAndDefaultNames)
    {
        // The statements are the plugin's own of this exact version.
        SqliteJournal.CheckPluginVersion(typeof(Akka.Persistence.Sql.SqlPersistence).Assembly.GetName().Version);
        var config = pluginConfig.WithFallback(defaults);
        if (!config.GetBoolean("auto-initialize", false) || config.GetString("table-mapping", "default") != "default"
            || !string.IsNullOrEmpty(config.GetString("tables.default.schema-name", null)))
            return pluginConfig;
        for (var i = 0; i < pathsAndDefaultNames.Length; i += 2)
            if (config.GetString(pathsAndDefaultNames[i], pathsAndDefaultNames[i + 1]) != pathsAndDefaultNames[i + 1])
                return pluginConfig;

        using (var connection = new SqliteConnection(config.GetString("connection-string")))
        {
            connection.Open();
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = ddl;
            command.ExecuteNonQuery();
            transaction.Commit();
        }
        return WithoutAutoInitialize.WithFallback(pluginConfig);
    }
}
