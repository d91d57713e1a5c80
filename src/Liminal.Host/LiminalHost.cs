using Akka.Event;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Liminal.Actors;
using Liminal.Actors.Hosting;
using Liminal.Actors.Persistence;
using Liminal.Actors.Validation;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Liminal.Host;

/// <summary>Composes the standalone bus process: the journal, the bus's actors and the HTTP health endpoint.</summary>
public static class LiminalHost
{
    public static WebApplication Build(HostConfiguration configuration, string[] args)
    {
        SqlJournalConfig.ReserveThreadsForBlockingIo();
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.WebHost.UseUrls($"http://0.0.0.0:{configuration.HealthPort}");
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Services.AddSingleton(configuration);
        builder.AddLiminalTelemetry(configuration.Config);
        builder.Services.AddAkka("liminal", akka => akka
            .AddHocon(configuration.Config, HoconAddMode.Prepend)
            .AddHocon(configuration.JournalConfig(), HoconAddMode.Append)
            .WithRemoting(RemoteOptions(configuration))
            .WithLiminal(configuration.Settings)
            .AddStartup((system, _) =>
            {
                var log = system.Log;
                var settings = configuration.Settings;
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
        app.MapHealthEndpoints();
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
