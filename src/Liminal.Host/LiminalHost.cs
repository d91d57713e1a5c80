using Akka.Event;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Liminal.Actors;
using Liminal.Actors.Hosting;
using Liminal.Actors.Persistence;
using Liminal.Actors.Validation;
using Liminal.Host.Configuration;
using Liminal.Host.Health;
using Liminal.Host.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Liminal.Host;

/// <summary>Composes the standalone bus process: the journal, the bus's actors, health checks and the HTTP endpoint.</summary>
public static class LiminalHost
{
    /// <summary>
    /// The host for <paramref name="args"/> (and the process's environment, <c>appsettings.json</c> in the working
    /// directory, the HOCON files: <see cref="HostConfiguration"/>).
    /// </summary>
    /// <exception cref="LiminalConfigurationException">Every configuration problem found, each with its key.</exception>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Configuration.AddLiminalLoggingDefaults(args);
        var configuration = HostConfiguration.Load(builder.Configuration);
        if (configuration.Problems.Count > 0)
            throw new LiminalConfigurationException(configuration.Problems);

        SqlJournalConfig.ReserveThreadsForBlockingIo();
        builder.WebHost.UseUrls($"http://0.0.0.0:{configuration.HealthPort}");
        builder.Logging.ClearProviders().AddLiminalConsole(builder.Configuration);
        builder.Services.AddSingleton(configuration);
        builder.AddLiminalTelemetry(configuration.Config);
        builder.Services.AddHealthChecks();
        builder.Services.AddAkka(LiminalActorNames.HostSystem, akka => akka
            .ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            })
            .AddHocon(configuration.Config, HoconAddMode.Prepend)
            .AddHocon(configuration.JournalConfig(), HoconAddMode.Append)
            .WithRemoting(RemoteOptions(configuration))
            .WithLiminal(HostConfiguration.WithSchemasFound)
            .WithLiminalHealthChecks(configuration)
            .AddStartup((system, _) =>
            {
                var log = system.Log;
                var settings = LiminalSettings.FromConfig(system.Settings.Config);
                log.Info("Liminal started; journal: {0}", configuration.JournalDescription);
                log.Info("Dedup: namespace {0}, {1} shards, TTL {2}, sweep every {3}",
                    settings.DedupNamespace, settings.DedupShards, settings.DedupTtl, settings.DedupSweepInterval);
                log.Info("Channels: {0}", settings.Channels.Count == 0
                    ? "(none)"
                    : string.Join(", ", settings.Channels.Select(c => $"{c.Name} ({(c.Durable ? "durable" : "ephemeral")}, {c.Partitions} partition(s))")));
                log.Info("Remote clients reach the bus at akka.tcp://{0}@{1}:{2}", system.Name, configuration.RemoteHostname, configuration.RemotePort);
                log.Info("Health, readiness and metrics on http://0.0.0.0:{0}/health, /ready, /metrics", configuration.HealthPort);
            }));

        var app = builder.Build();
        app.MapLiminalHealthChecks();
        app.MapLiminalMetrics();
        return app;
    }

    /// <summary>
    /// The remote endpoint, its frame sized to carry the largest payload the bus takes (liminal.max-payload-bytes):
    /// Akka.Remote's default (128,000 bytes) dropped a 200 KB delivery while the publisher was told it was delivered.
    /// </summary>
    private static RemoteOptions RemoteOptions(HostConfiguration configuration)
    {
        var frame = WireFrame.SizeFor(configuration.Settings.MaxPayloadBytes);
        return new RemoteOptions
        {
            HostName = configuration.RemoteHostname,
            Port = configuration.RemotePort,
            MaxFrameSize = frame,
            SendBufferSize = frame,
            ReceiveBufferSize = frame,
        };
    }
}
