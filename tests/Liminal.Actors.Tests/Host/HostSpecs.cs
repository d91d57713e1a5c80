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
    public async Task Health_ready_and_metrics_answer_and_the_metrics_move_after_publishes()
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
            Assert.Contains("liminal_publishes_total 0", await http.GetStringAsync("/metrics"));

            // The host starts with the sample channels of hocon/host.conf.
            var bus = LiminalBus.FromRegistry(app.Services.GetRequiredService<ActorRegistry>());
            var order = new MessageEnvelope(System.Text.Encoding.UTF8.GetBytes("{\"orderId\":\"1\",\"amount\":5}"), "test");
            await bus.Channels.Ask<PublishAck>(new Publish("orders", order, "k1"), TimeSpan.FromSeconds(10));
            await bus.Channels.Ask<PublishAck>(new Publish("orders", order, "k1"), TimeSpan.FromSeconds(10));

            var metrics = await http.GetStringAsync("/metrics");
            Assert.Contains("liminal_publishes_total 1", metrics);
            Assert.Contains("liminal_duplicates_suppressed_total 1", metrics);
            Assert.Contains("liminal_dedup_window_evictions_total 0", metrics);
            Assert.Matches(@"liminal_journal_write_seconds_count [1-9]", metrics);
        }
        finally
        {
            await app.StopAsync();
        }
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
