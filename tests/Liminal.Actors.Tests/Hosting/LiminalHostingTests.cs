using Akka.Actor;
using Akka.Hosting;
using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Offsets;
using Liminal.Actors.Hosting;
using Liminal.Actors.Persistence;
using Liminal.Actors.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Liminal.Actors.Tests.Hosting;

/// <summary><c>WithLiminal</c> as the host uses it: a generic host on SQLite with the bus in the ActorRegistry.</summary>
public sealed class LiminalHostingTests
{
    [Fact]
    public async Task WithLiminal_registers_the_four_actors_and_the_dedup_key_space_answers_on_SQLite()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddAkka("hosting-test", akka => akka
            .AddHocon(SqlJournalConfig.Sqlite(TestDatabase.NewPath()), HoconAddMode.Append)
            .AddHocon("liminal.dedup.shards = 4", HoconAddMode.Prepend)
            .WithLiminal());
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var bus = LiminalBus.FromRegistry(host.Services.GetRequiredService<ActorRegistry>());

            Assert.IsType<DedupDecision.Claimed>(await bus.Dedup.Ask<DedupDecision>(new ClaimOrGet("hosted"), TimeSpan.FromSeconds(10)));
            Assert.IsType<DedupDecision.InFlight>(await bus.Dedup.Ask<DedupDecision>(new ClaimOrGet("hosted"), TimeSpan.FromSeconds(10)));
            var rejected = await bus.Channels.Ask<PublishRejected>(new Publish("nowhere", new MessageEnvelope("{}"u8.ToArray(), "test")), TimeSpan.FromSeconds(10));
            Assert.Equal(PublishFailure.UnknownChannel, rejected.Reason);
            Assert.IsType<RedeliveryDecision.Start>(await bus.Conversations.Ask<RedeliveryDecision>(new ReceiveMessage("c", "m"), TimeSpan.FromSeconds(10)));
            Assert.IsType<OffsetCommitted>(await bus.Offsets.Ask<object>(new CommitOffset("consumer", "stream", 1), TimeSpan.FromSeconds(10)));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task WithLiminal_takes_its_settings_from_HOCON_added_to_the_builder_before_and_after_it()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddAkka("hosting-hocon", akka => akka
            .AddHocon(SqlJournalConfig.Sqlite(TestDatabase.NewPath()), HoconAddMode.Append)
            .AddHocon("""liminal.channels = [ { name = "from-hocon" } ]""", HoconAddMode.Prepend)
            .WithLiminal()
            .AddHocon("liminal.max-payload-bytes = 1KiB", HoconAddMode.Prepend));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var bus = LiminalBus.FromRegistry(host.Services.GetRequiredService<ActorRegistry>());
            var small = new MessageEnvelope("{}"u8.ToArray(), "test");
            Assert.IsType<PublishAck>(await bus.Channels.Ask<object>(new Publish("from-hocon", small), TimeSpan.FromSeconds(10)));

            var large = new MessageEnvelope(System.Text.Encoding.UTF8.GetBytes($"\"{new string('x', 2048)}\""), "test");
            var rejected = await bus.Channels.Ask<PublishRejected>(new Publish("from-hocon", large), TimeSpan.FromSeconds(10));
            Assert.Equal(PublishFailure.PayloadTooLarge, rejected.Reason);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
