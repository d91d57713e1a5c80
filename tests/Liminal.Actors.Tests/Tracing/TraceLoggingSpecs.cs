using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Actors.Tracing;

namespace Liminal.Actors.Tests.Tracing;

/// <summary>A log line of the bus about a message names the message's trace id, so the line and the trace find each other.</summary>
public sealed class TraceLoggingSpecs : FaultInjectionTestKit
{
    private const string TraceId = "0af7651916cd43dd8448eb211c80319c";

    private static Publish Traced(string orderId) => new("orders", new MessageEnvelope(OrderSchema.Order(orderId), "shop",
        Headers: new Dictionary<string, string> { [LiminalTracing.TraceParent] = $"00-{TraceId}-b7ad6b7169203331-01" }), orderId);

    [Fact]
    public async Task A_failed_and_a_rejected_write_of_a_message_are_logged_with_its_trace_id()
    {
        var bus = LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true)] });
        Ask<PublishAck>(bus.Channels, new Publish("orders", new MessageEnvelope(OrderSchema.Order("warm-up"), "shop")));

        await Journal.OnWrite.Reject();
        EventFilter.Error(contains: $"(trace {TraceId})").ExpectOne(() =>
            Assert.Equal(PublishFailure.PersistFailed, Ask<PublishRejected>(bus.Channels, Traced("o1")).Reason));

        await Journal.OnWrite.Fail();
        EventFilter.Error(contains: $"(trace {TraceId})").ExpectOne(() =>
            Assert.Equal(PublishFailure.PersistFailed, Ask<PublishRejected>(bus.Channels, Traced("o2")).Reason));
    }
}
