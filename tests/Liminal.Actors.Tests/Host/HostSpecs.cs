using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Hosting;
using Liminal.Actors.Channels;
using Liminal.Actors.Hosting;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Host;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Liminal.Actors.Tests.Host;

/// <summary>The standalone host in this process: configuration validation, health and readiness, metrics.</summary>
public sealed class HostSpecs
{
    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Command-line options for a host on its own SQLite file and free ports.</summary>
    internal static string[] Options(string databasePath, int healthPort, params string[] more) =>
    [
        "--liminal:journal:sqlite-path", databasePath,
        "--liminal:host:health-port", healthPort.ToString(),
        "--liminal:host:remote:port", FreePort().ToString(),
        .. more,
    ];

    /// <summary>Runs <paramref name="body"/> against a started host whose health port is <paramref name="port"/>.</summary>
    internal static async Task WithHostAsync(int port, string[] options, Func<WebApplication, HttpClient, Task> body)
    {
        await using var app = LiminalHost.Build(options);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        try
        {
            await body(app, http);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    /// <summary>The database file is gone and a directory stands in its way: no connection can open or create it.</summary>
    private static void MakeUnreachable(string databasePath)
    {
        File.Move(databasePath, databasePath + ".moved");
        Directory.CreateDirectory(databasePath);
    }

    [Fact]
    public void Every_configuration_problem_is_reported_together_with_its_key()
    {
        var configFile = Path.Combine(Path.GetTempPath(), $"liminal-{Guid.NewGuid():N}.conf");
        File.WriteAllText(configFile, """liminal.channels = [ { name = "orders", durable = true, schema = "no-such-schema.json" } ]""");

        var error = Assert.Throws<LiminalConfigurationException>(() => LiminalHost.Build([
            "--config", configFile,
            "--liminal:journal:kind", "mongo",
            "--liminal:dedup:ttl", "0s",
            "--liminal:dedup:shards", "many",
            "--liminal:host:health-port", "70000",
        ]));

        Assert.True(error.Problems.Count == 5, string.Join("\n", error.Problems));
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.journal.kind"));
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.dedup.ttl"));
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.dedup.shards"));
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.host.health-port"));
        Assert.Contains(error.Problems, p => p.Contains("no-such-schema.json"));
    }

    [Fact]
    public async Task Health_ready_and_metrics_answer_and_the_metrics_scraped_as_Prometheus_text_move_after_publishes()
    {
        var port = FreePort();
        await WithHostAsync(port, Options(TestDatabase.NewPath(), port, "--liminal:dedup:shards", "4"), async (app, http) =>
        {
            Assert.Equal("Healthy\n", await http.GetStringAsync("/health"));
            Assert.Equal("Healthy\n", await http.GetStringAsync("/ready"));

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

            // A durable consumer whose member acks all three: its instruments are scraped too.
            await bus.Channels.Ask<ConsumerSubscribed>(new SubscribeDurable(channel, "billing", system.ActorOf(Props.Create(() => new AckingMember())),
                new ConsumerOptions()), TimeSpan.FromSeconds(10));
            var consumerLabel = "consumer=billing";
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            var consumed = await ScrapeAsync(http);
            while (consumed.Value("liminal_consumer_acks_total", channelLabel, consumerLabel) < 3 && DateTime.UtcNow < deadline)
                consumed = await ScrapeAsync(http);
            Assert.Equal(3, consumed.Value("liminal_consumer_acks_total", channelLabel, consumerLabel));
            Assert.Equal(0, consumed.Value("liminal_consumer_lag", channelLabel, consumerLabel, "partition=0"));
            Assert.Equal(0, consumed.Value("liminal_consumer_pending", channelLabel, consumerLabel, "partition=0"));
            Assert.True(consumed.Has("liminal_consumer_lag", channelLabel, consumerLabel, "partition=0"));
            Assert.True(consumed.Has("liminal_consumer_pending", channelLabel, consumerLabel, "partition=0"));
        });
    }

    private sealed class AckingMember : ReceiveActor
    {
        public AckingMember()
        {
            Receive<Delivery>(delivery => Sender.Tell(new Ack(delivery.Channel, delivery.Consumer!, delivery.Partition, delivery.SequenceNr!.Value)));
            Receive<Acked>(_ => { });
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
        static async Task<bool> TracesWith(params string[] more)
        {
            await using var app = LiminalHost.Build(Options(TestDatabase.NewPath(), FreePort(), more));
            return app.Services.GetService<OpenTelemetry.Trace.TracerProvider>() is not null;
        }

        Assert.False(await TracesWith());
        Assert.True(await TracesWith("--liminal:telemetry:otlp-endpoint", "http://127.0.0.1:4317"));
        var error = Assert.Throws<LiminalConfigurationException>(() =>
            LiminalHost.Build(Options(TestDatabase.NewPath(), FreePort(), "--liminal:telemetry:otlp-endpoint", "collector:4317")));
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.telemetry.otlp-endpoint"));
    }

    [Fact]
    public async Task Health_and_ready_turn_unhealthy_when_the_SQLite_database_becomes_unreachable_on_an_idle_bus()
    {
        var port = FreePort();
        var databasePath = TestDatabase.NewPath();
        await WithHostAsync(port, Options(databasePath, port, "--liminal:dedup:shards", "2"), async (app, http) =>
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/ready")).StatusCode);
            // No publish, no journal write: nothing trips the journal's circuit breaker.
            MakeUnreachable(databasePath);

            foreach (var endpoint in new[] { "/health", "/ready" })
            {
                var response = await http.GetAsync(endpoint);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(HttpStatusCode.ServiceUnavailable == response.StatusCode, $"{endpoint}: {response.StatusCode} {body}");
                Assert.StartsWith("Unhealthy\n", body);
                Assert.Contains("  - journal-database: journal not reachable: ", body);
            }
        });
    }

    [Fact]
    public async Task Ready_lists_each_unmet_check_with_its_description_and_only_those()
    {
        var port = FreePort();
        var databasePath = TestDatabase.NewPath();
        await WithHostAsync(port, Options(databasePath, port, "--liminal:dedup:shards", "2"), async (app, http) =>
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/ready")).StatusCode);
            MakeUnreachable(databasePath);
            var channels = app.Services.GetRequiredService<ActorRegistry>().Get<LiminalChannels>();
            await channels.GracefulStop(TimeSpan.FromSeconds(10));

            var response = await http.GetAsync("/ready");
            var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("Unhealthy", lines[0]);
            Assert.Collection(lines.Skip(1),
                line => Assert.StartsWith("  - channels-loaded: bus not started: ", line),
                line => Assert.StartsWith("  - journal-database: journal not reachable: ", line));
        });
    }

    [SkippableFact]
    public async Task Health_turns_unhealthy_when_the_PostgreSQL_server_becomes_unreachable_on_an_idle_bus()
    {
        PostgreSqlServer.Require();
        var server = new NpgsqlConnectionStringBuilder(PostgreSqlServer.ConnectionString);
        await using var forwarder = new TcpForwarder(server.Host!, server.Port);
        var throughForwarder = new NpgsqlConnectionStringBuilder(PostgreSqlServer.ConnectionString)
        {
            Host = "127.0.0.1", Port = forwarder.Port, Timeout = 3,
        };
        var unique = $"h{Guid.NewGuid():N}"[..13];
        var port = FreePort();
        await WithHostAsync(port, Options(TestDatabase.NewPath(), port,
            "--liminal:journal:kind", "postgresql",
            "--liminal:journal:postgresql-connection-string", throughForwarder.ConnectionString,
            "--liminal:dedup:namespace", unique,
            "--liminal:dedup:shards", "2",
            "--liminal:channels:0:name", $"{unique}-orders",
            "--liminal:channels:0:durable", "true"), async (app, http) =>
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/ready")).StatusCode);

            await forwarder.StopAsync();

            var response = await http.GetAsync("/health");
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(HttpStatusCode.ServiceUnavailable == response.StatusCode, body);
            Assert.Contains("  - journal-database: journal not reachable: ", body);
        });
    }
}
