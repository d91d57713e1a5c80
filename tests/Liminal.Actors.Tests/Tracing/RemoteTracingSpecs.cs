using System.Diagnostics;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Tests.Host;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Actors.Tracing;
using Liminal.Client;

namespace Liminal.Actors.Tests.Tracing;

/// <summary>
/// Issue 14: one trace follows a message from a producer in one actor system through the host (store, deliver, ack) to
/// a subscriber back in the producer's system, across real Akka.Remote hops, its <c>traceparent</c> in the envelope's headers.
/// </summary>
public sealed class RemoteTracingSpecs(RemoteHostFixture host) : Akka.TestKit.Xunit2.TestKit(LiminalClient.ClientConfig()), IClassFixture<RemoteHostFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private T Ask<T>(IActorRef target, object request)
    {
        target.Tell(request, TestActor);
        return ExpectMsg<T>(Patience);
    }

    [Fact]
    public async Task A_publish_with_a_trace_parent_is_stored_delivered_and_processed_in_the_producers_trace_across_Akka_Remote()
    {
        using var spans = new RecordedSpans();
        var bus = await LiminalClient.ConnectAsync(Sys, "127.0.0.1", host.RemotePort);
        var channel = $"c{Guid.NewGuid():N}";
        Ask<ChannelCreated>(bus.Channels, new CreateChannel(new ChannelDefinition(channel, Durable: true)));
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe(channel, subscriber.Ref));

        ActivityContext producer;
        using (var produce = RecordedSpans.Producer.StartActivity("produce", ActivityKind.Producer))
        {
            Assert.NotNull(produce);
            producer = produce.Context;
            var envelope = new MessageEnvelope(OrderSchema.Order("o1"), "remote").WithTraceContext(produce);
            Assert.Equal(1L, Ask<PublishAck>(bus.Channels, new Publish(channel, envelope, "o1")).SequenceNr);
        }

        // The subscriber, in the producer's actor system, got the message over Akka.Remote with the producer's context.
        var delivery = subscriber.ExpectMsg<Delivery>(Patience);
        Assert.Equal((producer.TraceId, producer.SpanId), (LiminalTracing.ContextOf(delivery.Envelope).TraceId, LiminalTracing.ContextOf(delivery.Envelope).SpanId));
        using (LiminalTracing.StartProcessing(delivery))
        {
            var outcome = await new StepRunner(bus.Conversations, Patience)
                .RunAsync($"c{Guid.NewGuid():N}", "m1", delivery.Envelope.Payload, [(input, _) => Task.FromResult(input)]);
            Assert.IsType<StepRunOutcome.Finished>(outcome);
        }

        var trace = spans.Of(producer.TraceId);
        // The host's spans of the message are children of the producer's traceparent.
        foreach (var name in new[] { "publish", "store", "deliver", "ack" })
            Assert.Equal(producer.SpanId, Assert.Single(trace, s => s.DisplayName == $"{name} {channel}").ParentSpanId);
        var process = Assert.Single(trace, s => s.DisplayName == $"process {channel}");
        Assert.Equal((ActivityKind.Consumer, producer.SpanId), (process.Kind, process.ParentSpanId));
        var run = Assert.Single(trace, s => s.DisplayName == "run steps");
        Assert.Equal(process.SpanId, run.ParentSpanId);
        Assert.Equal(run.SpanId, Assert.Single(trace, s => s.DisplayName == "step 0").ParentSpanId);
    }

    [Fact]
    public async Task Headers_a_client_sends_come_back_to_a_remote_subscriber_and_malformed_ones_sent_raw_are_rejected_by_the_bus()
    {
        var bus = await LiminalClient.ConnectAsync(Sys, "127.0.0.1", host.RemotePort);
        var raw = await Sys.ActorSelection($"akka.tcp://{LiminalClient.HostSystemName}@127.0.0.1:{host.RemotePort}/user/liminal-channels").ResolveOne(Patience);
        var channel = $"c{Guid.NewGuid():N}";
        Ask<ChannelCreated>(bus.Channels, new CreateChannel(new ChannelDefinition(channel, Durable: true)));
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe(channel, subscriber.Ref));
        var headers = new Dictionary<string, string> { ["x-tenant"] = "acme", ["note"] = "caf\u00e9" };

        var malformed = new Dictionary<string, string> { ["x-tenant"] = "ac\ud800me" };
        var guarded = Ask<PublishRejected>(bus.Channels, new Publish(channel, new MessageEnvelope("{}"u8.ToArray(), "remote", Headers: malformed)));
        var unguarded = Ask<PublishRejected>(raw, new Publish(channel, new MessageEnvelope("{}"u8.ToArray(), "remote", Headers: malformed)));
        var ack = Ask<PublishAck>(bus.Channels, new Publish(channel, new MessageEnvelope("{}"u8.ToArray(), "remote", Headers: headers)));

        Assert.Equal((PublishFailure.SchemaMismatch, PublishFailure.SchemaMismatch), (guarded.Reason, unguarded.Reason));
        Assert.Contains("header x-tenant", unguarded.Detail);
        // Nothing was stored for the rejected ones.
        Assert.Equal(1L, ack.SequenceNr);
        Assert.Equal(headers, subscriber.ExpectMsg<Delivery>(Patience).Envelope.Headers);
    }
}
