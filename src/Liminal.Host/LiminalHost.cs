using Akka.Configuration;
using Akka.Event;
using Akka.Hosting;
using Liminal.Actors;
using Liminal.Actors.Hosting;
using Liminal.Actors.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Liminal.Host;

/// <summary>Composes the standalone bus process: configuration, journal, the bus's actors.</summary>
public static class LiminalHost
{
    public static IHost Build(string[] args)
    {
        SqlJournalConfig.ReserveThreadsForBlockingIo();
        var config = LoadConfig(args);
        var settings = LiminalSettings.FromConfig(config);
        var databasePath = Path.GetFullPath(config.GetString("liminal.journal.sqlite-path", "data/liminal.db"));

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(args);
        builder.Services.AddAkka("liminal", akka => akka
            .AddHocon(config, HoconAddMode.Prepend)
            .AddHocon(SqlJournalConfig.Sqlite(databasePath), HoconAddMode.Append)
            .WithLiminal(settings)
            .AddStartup((system, registry) =>
            {
                var log = system.Log;
                log.Info("Liminal started on SQLite database {0}", databasePath);
                log.Info("Dedup: namespace {0}, {1} shards, TTL {2}, sweep every {3}",
                    settings.DedupNamespace, settings.DedupShards, settings.DedupTtl, settings.DedupSweepInterval);
                log.Info("Channels configured: {0}", settings.Channels.Count == 0
                    ? "(none)"
                    : string.Join(", ", settings.Channels.Select(c => $"{c.Name}{(c.Durable ? " (durable)" : "")}")));
            }));
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        return builder.Build();
    }

    /// <summary><c>hocon/liminal.conf</c> beside the binary, optionally overlaid by <c>--config FILE</c>.</summary>
    private static Config LoadConfig(string[] args)
    {
        var defaults = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "liminal.conf")));
        var index = Array.IndexOf(args, "--config");
        return index >= 0 && index + 1 < args.Length
            ? ConfigurationFactory.ParseString(File.ReadAllText(args[index + 1])).WithFallback(defaults)
            : defaults;
    }
}
