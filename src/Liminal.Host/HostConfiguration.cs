using System.Collections;
using Akka.Configuration;
using Liminal.Actors;
using Liminal.Actors.Persistence;

namespace Liminal.Host;

/// <summary>Where the host keeps its event log.</summary>
public enum JournalKind
{
    Sqlite,
    PostgreSql,
}

/// <summary>
/// Everything the host needs, read once: <c>hocon/liminal.conf</c> beside the binary, overlaid by
/// <c>--config FILE</c>, overlaid by environment variables <c>LIMINAL__SECTION__KEY</c> (<c>__</c> separates
/// levels, <c>_</c> stands for <c>-</c>: <c>LIMINAL__JOURNAL__SQLITE_PATH</c> is <c>liminal.journal.sqlite-path</c>).
/// <see cref="Problems"/> lists every problem found, each with its key, so the host can refuse to start at once.
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
    public static HostConfiguration Load(string[] args, IDictionary environment)
    {
        var problems = new List<string>();
        var config = Layered(
            EnvironmentOverrides(environment),
            ConfigFile(args, problems),
            ReadFile(Path.Combine(AppContext.BaseDirectory, "hocon", "host.conf"), problems),
            ReadFile(Path.Combine(AppContext.BaseDirectory, "hocon", "liminal.conf"), problems));

        var (read, settingsProblems) = LiminalSettings.Read(config);
        var settings = read with { Channels = read.Channels.Select(WithSchemaFound).ToList() };
        problems.AddRange(settingsProblems);
        problems.AddRange(LiminalBus.LoadChannels(settings).Problems);
        problems.AddRange(Telemetry.ConfigurationProblems(config));

        var kindText = config.GetString("liminal.journal.kind", "sqlite");
        var kind = kindText.ToLowerInvariant() switch
        {
            "sqlite" => JournalKind.Sqlite,
            "postgresql" => JournalKind.PostgreSql,
            _ => (JournalKind?)null,
        };
        if (kind is null)
            problems.Add($"liminal.journal.kind: '{kindText}' is not a journal kind (sqlite or postgresql)");
        var sqlitePath = config.GetString("liminal.journal.sqlite-path", "data/liminal.db");
        var connectionString = config.GetString("liminal.journal.postgresql-connection-string", "");
        if (kind == JournalKind.PostgreSql && string.IsNullOrWhiteSpace(connectionString))
            problems.Add("liminal.journal.postgresql-connection-string: required when liminal.journal.kind = postgresql");
        if (kind == JournalKind.Sqlite && string.IsNullOrWhiteSpace(sqlitePath))
            problems.Add("liminal.journal.sqlite-path: required when liminal.journal.kind = sqlite");

        var healthPort = ReadPort(config, "liminal.host.health-port", problems);
        var remotePort = ReadPort(config, "liminal.host.remote.port", problems);
        var remoteHostname = config.GetString("liminal.host.remote.hostname", "127.0.0.1");
        if (string.IsNullOrWhiteSpace(remoteHostname))
            problems.Add("liminal.host.remote.hostname: required");
        if (healthPort != 0 && healthPort == remotePort)
            problems.Add($"liminal.host.remote.port: {remotePort} is also the health port");
        return new HostConfiguration(config, settings, kind ?? JournalKind.Sqlite, Path.GetFullPath(sqlitePath), connectionString,
            healthPort, remoteHostname, remotePort, problems);
    }

    /// <summary>A relative schema path not found from the working directory is looked up beside the host binary.</summary>
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

    /// <summary>The first layer wins; empty layers are skipped (Akka refuses an empty config as its own fallback).</summary>
    private static Config Layered(params Config[] layers) =>
        layers.Where(layer => !layer.IsEmpty).Aggregate(Config.Empty, (top, below) => top.IsEmpty ? below : top.WithFallback(below));

    private static int ReadPort(Config config, string key, List<string> problems)
    {
        var text = config.GetString(key, "");
        if (int.TryParse(text, out var port) && port is > 0 and < 65536)
            return port;
        problems.Add($"{key}: '{text}' is not a port (1-65535)");
        return 0;
    }

    private static Config ConfigFile(string[] args, List<string> problems)
    {
        var index = Array.IndexOf(args, "--config");
        if (index < 0)
            return Config.Empty;
        if (index + 1 >= args.Length)
        {
            problems.Add("--config: a file path must follow");
            return Config.Empty;
        }
        return ReadFile(args[index + 1], problems);
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

    private static Config EnvironmentOverrides(IDictionary environment)
    {
        var lines = new List<string>();
        foreach (DictionaryEntry entry in environment)
        {
            if (entry.Key is not string name || !name.StartsWith("LIMINAL__", StringComparison.Ordinal))
                continue;
            var path = string.Join('.', name.Split("__").Select(part => part.ToLowerInvariant().Replace('_', '-')));
            var value = (entry.Value as string ?? "").Replace("\\", "\\\\").Replace("\"", "\\\"");
            lines.Add($"{path} = \"{value}\"");
        }
        return lines.Count == 0 ? Config.Empty : ConfigurationFactory.ParseString(string.Join('\n', lines));
    }
}
