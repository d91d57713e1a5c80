using System.Collections;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Hosting;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Host;
using Microsoft.Extensions.DependencyInjection;

namespace Liminal.Actors.Tests.Host;

/// <summary>The standalone host: configuration validation and the HTTP endpoint.</summary>
public sealed class HostSpecs
{
    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public void Every_configuration_problem_is_reported_together_with_its_key()
    {
        var environment = new Hashtable
        {
            ["LIMINAL__JOURNAL__KIND"] = "mongo",
            ["LIMINAL__DEDUP__TTL"] = "0s",
            ["LIMINAL__DEDUP__SHARDS"] = "many",
            ["LIMINAL__HOST__HEALTH_PORT"] = "70000",
        };
        var configFile = Path.Combine(Path.GetTempPath(), $"liminal-{Guid.NewGuid():N}.conf");
        File.WriteAllText(configFile, """liminal.channels = [ { name = "orders", durable = true, schema = "no-such-schema.json" } ]""");

        var configuration = HostConfiguration.Load(["--config", configFile], environment);

        Assert.True(configuration.Problems.Count == 5, string.Join("\n", configuration.Problems));
        Assert.Contains(configuration.Problems, p => p.StartsWith("liminal.journal.kind"));
        Assert.Contains(configuration.Problems, p => p.StartsWith("liminal.dedup.ttl"));
        Assert.Contains(configuration.Problems, p => p.StartsWith("liminal.dedup.shards"));
        Assert.Contains(configuration.Problems, p => p.StartsWith("liminal.host.health-port"));
        Assert.Contains(configuration.Problems, p => p.Contains("no-such-schema.json"));
    }

    [Fact]
    public async Task Health_ready_and_metrics_answer_and_the_metrics_scraped_as_Prometheus_text_move_after_publishes()
    {
        var port = FreePort();
        var configuration = HostConfiguration.Load([], new Hashtable
        {
            ["LIMINAL__JOURNAL__SQLITE_PATH"] = TestDatabase.NewPath(),
            ["LIMINAL__HOST__HEALTH_PORT"] = port.ToString(),
            ["LIMINAL__HOST__REMOTE__PORT"] = FreePort().ToString(),
            ["LIMINAL__DEDUP__SHARDS"] = "4",
        });
        Assert.Empty(configuration.Problems);
        await using var app = LiminalHost.Build(configuration, []);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        try
        {
            Assert.Equal("ok\n", await http.GetStringAsync("/health"));
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/ready")).StatusCode);

            // A channel of this spec alone: its series are this host's, whatever else the test process runs.
            var bus = LiminalBus.FromRegistry(app.Services.GetRequiredService<ActorRegistry>());
            var system = app.Services.GetRequiredService<ActorSystem>();
            var channel = $"c{Guid.NewGuid():N}";
            await bus.Channels.Ask<ChannelCreated>(new CreateChannel(new ChannelDefinition(channel, Durable: true)), TimeSpan.FromSeconds(10));
            await bus.Channels.Ask<Subscribed>(new Subscribe(channel, system.ActorOf(Props.Empty)), TimeSpan.FromSeconds(10));
            var channelLabel = $"channel={channel}";
            await PublishAsync(bus, channel, "k0");
            var before = await ScrapeAsync(http);
            await PublishAsync(bus, channel, "k1");
            await PublishAsync(bus, channel, "k2");
            await PublishAsync(bus, channel, "k2");
            await bus.Channels.Ask<PublishRejected>(new Publish(channel, Order("k3") with { Payload = "not json"u8.ToArray() }), TimeSpan.FromSeconds(10));
            var after = await ScrapeAsync(http);
            // A series exists once its instrument has recorded something (OpenTelemetry exports no untouched series).
            foreach (var type in new[] { ("liminal_publishes_total", "counter"), ("liminal_deliveries_total", "counter"),
                         ("liminal_duplicates_suppressed_total", "counter"), ("liminal_publish_rejections_total", "counter"),
                         ("liminal_journal_write_seconds", "histogram"), ("liminal_dedup_window_keys", "gauge"), ("liminal_publishes_in_flight", "gauge") })
                Assert.True(type.Item2 == after.Types.GetValueOrDefault(type.Item1), $"{type.Item1} is no {type.Item2} in: {string.Join(", ", after.Types)}");

            Assert.Equal(1, before.Value("liminal_publishes_total", channelLabel));
            Assert.Equal(3, after.Value("liminal_publishes_total", channelLabel));
            Assert.Equal(3, after.Value("liminal_deliveries_total", channelLabel));
            Assert.Equal(1, after.Value("liminal_duplicates_suppressed_total", channelLabel) - before.Value("liminal_duplicates_suppressed_total", channelLabel));
            Assert.True(after.Value("liminal_publish_rejections_total", "reason=SchemaMismatch") > before.Value("liminal_publish_rejections_total", "reason=SchemaMismatch"));
            Assert.True(after.Value("liminal_journal_write_seconds_count") > before.Value("liminal_journal_write_seconds_count"));
            Assert.Equal(after.Value("liminal_journal_write_seconds_count"), after.Value("liminal_journal_write_seconds_bucket", "le=+Inf"));
            Assert.Equal(3, after.Value("liminal_dedup_window_keys", channelLabel, "partition=0"));
            Assert.True(after.Has("liminal_publishes_in_flight", channelLabel, "partition=0"));
        }
        finally
        {
            await app.StopAsync();
        }
    }

    private static MessageEnvelope Order(string id) =>
        new(System.Text.Encoding.UTF8.GetBytes($$"""{"orderId":"{{id}}","amount":5}"""), "test");

    private static Task<PublishAck> PublishAsync(LiminalBus bus, string channel, string key) =>
        bus.Channels.Ask<PublishAck>(new Publish(channel, Order(key), key), TimeSpan.FromSeconds(10));

    private static async Task<PrometheusText> ScrapeAsync(HttpClient http)
    {
        var response = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OTLP_is_off_by_default_and_a_configured_endpoint_turns_on_the_export_of_the_bus_spans()
    {
        async Task<bool> TracesWith(Hashtable environment)
        {
            environment["LIMINAL__JOURNAL__SQLITE_PATH"] = TestDatabase.NewPath();
            environment["LIMINAL__HOST__HEALTH_PORT"] = FreePort().ToString();
            environment["LIMINAL__HOST__REMOTE__PORT"] = FreePort().ToString();
            var configuration = HostConfiguration.Load([], environment);
            Assert.Empty(configuration.Problems);
            await using var app = LiminalHost.Build(configuration, []);
            return app.Services.GetService<OpenTelemetry.Trace.TracerProvider>() is not null;
        }

        Assert.False(await TracesWith([]));
        Assert.True(await TracesWith(new Hashtable { ["LIMINAL__TELEMETRY__OTLP_ENDPOINT"] = "http://127.0.0.1:4317" }));
        var problems = HostConfiguration.Load([], new Hashtable { ["LIMINAL__TELEMETRY__OTLP_ENDPOINT"] = "collector:4317" }).Problems;
        Assert.Contains(problems, p => p.StartsWith("liminal.telemetry.otlp-endpoint"));
    }

    [Fact]
    public async Task Ready_answers_503_naming_the_unmet_condition_when_the_journal_is_unreachable()
    {
        var port = FreePort();
        var databasePath = TestDatabase.NewPath();
        var configuration = HostConfiguration.Load([], new Hashtable
        {
            ["LIMINAL__JOURNAL__SQLITE_PATH"] = databasePath,
            ["LIMINAL__HOST__HEALTH_PORT"] = port.ToString(),
            ["LIMINAL__HOST__REMOTE__PORT"] = FreePort().ToString(),
            ["LIMINAL__DEDUP__SHARDS"] = "2",
        });
        await using var app = LiminalHost.Build(configuration, []);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/ready")).StatusCode);
            // The database file is gone and a directory stands in its way: no connection can open or create it.
            File.Move(databasePath, databasePath + ".moved");
            Directory.CreateDirectory(databasePath);

            var response = await http.GetAsync("/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("journal not reachable", await response.Content.ReadAsStringAsync());
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
