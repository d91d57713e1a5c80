using Akka.Configuration;
using Akka.Hosting.Configuration;
using Liminal.Actors;
using Liminal.Actors.Persistence;
using Microsoft.Extensions.Configuration;

namespace Liminal.Host.Configuration;

/// <summary>Where the host keeps its event log.</summary>
public enum JournalKind
{
    Sqlite,
    PostgreSql,
}

/// <summary>
/// The host's configuration, composed once into the HOCON the actor system starts with. From lowest to highest
/// precedence: the shipped <c>liminal.conf</c>, <c>hocon/host.conf</c> beside the binary, the HOCON file of
/// <c>--config FILE</c>, then the <c>liminal</c> and <c>akka</c> sections of Microsoft.Extensions.Configuration
/// (itself <c>appsettings.json</c>, then environment variables such as <c>LIMINAL__JOURNAL__SQLITE_PATH</c>, then
/// command-line options such as <c>--liminal:journal:sqlite-path</c>), turned into HOCON by Akka.Hosting
/// (lower case, <c>_</c> read as <c>-</c>). <see cref="Problems"/> lists every problem found, each with its key.
/// </summary>
public sealed record HostConfiguration(
    Config Config,
    LiminalSettings Settings,
    JournalKind Journal,
    string SqlitePath,
    string PostgreSqlConnectionString,
    int HealthPort,
    string RemoteHostname,
    int RemotePort,
    IReadOnlyList<string> Problems)
{
    /// <summary>The option naming a HOCON file layered over <c>host.conf</c>.</summary>
    public const string ConfigFileKey = "config";

    public static HostConfiguration Load(IConfiguration configuration)
    {
        var problems = new List<string>();
        var layers = new[]
            {
                Hocon(configuration.GetSection("liminal")),
                Hocon(configuration.GetSection("akka")),
                configuration[ConfigFileKey] is { } file ? ReadFile(file, problems) : Config.Empty,
                ReadFile(Path.Combine(AppContext.BaseDirectory, "hocon", "host.conf"), problems),
                LiminalSettings.DefaultConfig,
            }
            .Where(layer => !layer.IsEmpty);
        // The first layer wins; empty layers are skipped (Akka refuses an empty config as its own fallback).
        var config = layers.Aggregate(Config.Empty, (top, below) => top.IsEmpty ? below : top.WithFallback(below));

        var (read, settingsProblems) = LiminalSettings.Read(config);
        var settings = WithSchemasFound(read);
        problems.AddRange(settingsProblems);
        problems.AddRange(LiminalBus.LoadChannels(settings).Problems);
        problems.AddRange(Telemetry.ConfigurationProblems(config));

        var kindText = config.GetString("liminal.journal.kind");
        var kind = kindText.ToLowerInvariant() switch
        {
            "sqlite" => JournalKind.Sqlite,
            "postgresql" => JournalKind.PostgreSql,
            _ => (JournalKind?)null,
        };
        if (kind is null)
            problems.Add($"liminal.journal.kind: '{kindText}' is not a journal kind (sqlite or postgresql)");
        var sqlitePath = config.GetString("liminal.journal.sqlite-path");
        var connectionString = config.GetString("liminal.journal.postgresql-connection-string");
        if (kind == JournalKind.PostgreSql && string.IsNullOrWhiteSpace(connectionString))
            problems.Add("liminal.journal.postgresql-connection-string: required when liminal.journal.kind = postgresql");
        if (kind == JournalKind.Sqlite && string.IsNullOrWhiteSpace(sqlitePath))
            problems.Add("liminal.journal.sqlite-path: required when liminal.journal.kind = sqlite");

        var healthPort = ReadPort(config, "liminal.host.health-port", problems);
        var remotePort = ReadPort(config, "liminal.host.remote.port", problems);
        var remoteHostname = config.GetString("liminal.host.remote.hostname");
        if (string.IsNullOrWhiteSpace(remoteHostname))
            problems.Add("liminal.host.remote.hostname: required");
        if (healthPort != 0 && healthPort == remotePort)
            problems.Add($"liminal.host.remote.port: {remotePort} is also the health port");
        return new HostConfiguration(config, settings, kind ?? JournalKind.Sqlite,
            string.IsNullOrWhiteSpace(sqlitePath) ? "" : Path.GetFullPath(sqlitePath), connectionString,
            healthPort, remoteHostname ?? "", remotePort, problems);
    }

    /// <summary>A relative schema path not found from the working directory is looked up beside the host binary.</summary>
    public static LiminalSettings WithSchemasFound(LiminalSettings settings) =>
        settings with { Channels = settings.Channels.Select(WithSchemaFound).ToList() };

    private static Liminal.Actors.Channels.ChannelDefinition WithSchemaFound(Liminal.Actors.Channels.ChannelDefinition channel)
    {
        if (channel.SchemaPath is not { } path || Path.IsPathRooted(path) || File.Exists(path))
            return channel;
        var besideBinary = Path.Combine(AppContext.BaseDirectory, path);
        return File.Exists(besideBinary) ? channel with { SchemaPath = besideBinary } : channel;
    }

    /// <summary>The Akka.Persistence HOCON for the configured journal.</summary>
    public Config JournalConfig() => Journal == JournalKind.Sqlite
        ? SqlJournalConfig.Sqlite(SqlitePath)
        : SqlJournalConfig.PostgreSql(PostgreSqlConnectionString);

    public string JournalDescription => Journal == JournalKind.Sqlite
        ? $"SQLite database {SqlitePath} (snapshots in {SqlJournalConfig.SnapshotPathFor(SqlitePath)})"
        : "PostgreSQL (liminal.journal.postgresql-connection-string)";

    /// <summary>A missing section would become <c>liminal = null</c> and hide every layer below it.</summary>
    private static Config Hocon(IConfigurationSection section) => section.Exists() ? section.ToHocon() : Config.Empty;

    private static int ReadPort(Config config, string key, List<string> problems)
    {
        var text = config.GetString(key, "");
        if (int.TryParse(text, out var port) && port is > 0 and < 65536)
            return port;
        problems.Add($"{key}: '{text}' is not a port (1-65535)");
        return 0;
    }

    private static Config ReadFile(string path, List<string> problems)
    {
        try
        {
            return ConfigurationFactory.ParseString(File.ReadAllText(path));
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            problems.Add($"{path}: {error.Message}");
            return Config.Empty;
        }
    }
}
