using System.Text;
using Akka.Actor;
using CsCheck;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.Host;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Actors.Tracing;
using Liminal.Actors.Validation;
using Liminal.Client;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>Random header sets and what SPEC §2.5 says of each, written apart from <see cref="InputRules"/>.</summary>
internal static class RandomHeaders
{
    private static readonly Gen<string> Name = Gen.Frequency(
        (12, Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"], 1, 12]),
        (1, Gen.OneOf(127, 128, 129).Select(n => new string('h', n))),
        (1, Gen.OneOf("", "x tenant", "x\ud800", "\udc00", "caf\u00e9", "a/b", "a\0b", "\u00e9", "x:y", "\ud83d\ude00")));

    private static readonly Gen<string> Value = Gen.Frequency(
        (10, Gen.String[Gen.Char.AlphaNumeric, 1, 16]),
        (2, Gen.String[Gen.Char['\u0020', '\u00ff'], 1, 8]),
        (2, Gen.Char['\0', '\uFFFF'].Array[1, 6].Select(chars => new string(chars))),
        (2, Gen.OneOf("\ud83d\ude00", "<&>'\"\\+", "caf\u00e9", "", "a\nb", "\u0085", "x\ud800", "\udc00y", "\u007f")),
        (1, Gen.OneOf(1000, 2000, 4000, 4095, 4096, 4097).Select(n => new string('<', n))));

    // Mostly a few (most sets of many hold a bad one), sometimes around the limit of 32.
    private static readonly Gen<int> Count = Gen.Frequency((6, Gen.Int[0, 4]), (2, Gen.Int[5, 40]), (1, Gen.Int[31, 33]));

    /// <summary>None, or 0 to 40 headers (names may repeat: the dictionary keeps one).</summary>
    public static readonly Gen<Dictionary<string, string>?> Headers = Gen.Frequency(
        (1, Gen.Const(default(Dictionary<string, string>?))),
        (8, Gen.Select(Name, Value).Array[Count].Select(pairs =>
        {
            var headers = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, value) in pairs)
                headers[name] = value;
            return (Dictionary<string, string>?)headers;
        })));

    /// <summary>SPEC §2.5: at most 32, names of ASCII letters, digits, '.', '_', '-' (1 to 128), values of well-formed text without controls, 4 KiB together.</summary>
    public static bool Acceptable(IReadOnlyDictionary<string, string>? headers)
    {
        if (headers is null)
            return true;
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        var bytes = 0;
        foreach (var (name, value) in headers)
        {
            if (name.Length is 0 or > 128 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')))
                return false;
            if (string.IsNullOrEmpty(value) || value.Any(char.IsControl))
                return false;
            try
            {
                bytes += strict.GetByteCount(name) + strict.GetByteCount(value);
            }
            catch (EncoderFallbackException)
            {
                return false;
            }
        }
        return headers.Count <= 32 && bytes <= 4096;
    }

    /// <summary>
    /// The headers a subscriber is handed, without the trace context the bus adds when something listens to its spans
    /// (other specs may listen meanwhile: listeners are process-wide); the generator never sends those two names.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Users(IReadOnlyDictionary<string, string>? headers) =>
        (headers ?? new Dictionary<string, string>()).Where(h => h.Key is not (LiminalTracing.TraceParent or LiminalTracing.TraceState))
            .ToDictionary(h => h.Key, h => h.Value, StringComparer.Ordinal);
}

/// <summary>
/// Random headers (names, values, counts, sizes around every limit) published in process on SQLite on disk: each
/// publish is stored and delivered with headers identical to what was sent (live, and by <see cref="Replay"/> after a
/// restart), or rejected typed with nothing stored; a keyed duplicate with other headers keeps the original's.
/// </summary>
public sealed class HeaderAttacks : LiminalTestKit
{
    private LiminalSettings Settings => DefaultSettings with { Channels = [new ChannelDefinition("h", Durable: true)] };

    [Fact]
    public void Random_headers_are_stored_and_delivered_exactly_or_rejected_typed_with_nothing_stored_also_after_a_restart()
    {
        RandomHeaders.Headers.Array[120].Sample(sets =>
        {
            var bus = LiminalBus.Start(Sys, Settings);
            var subscriber = CreateTestProbe();
            Ask<Subscribed>(bus.Channels, new Subscribe("h", subscriber.Ref));
            var accepted = new List<(long SequenceNr, IReadOnlyDictionary<string, string> Headers)>();
            for (var i = 0; i < sets.Length; i++)
            {
                var headers = sets[i];
                bus.Channels.Tell(new Publish("h", new MessageEnvelope(ChannelReading.Payload($"k{i}", i), "shop", Headers: headers), $"k{i}"));
                var reply = ExpectMsg<object>();
                if (RandomHeaders.Acceptable(headers))
                {
                    var ack = Assert.IsType<PublishAck>(reply);
                    var delivery = subscriber.ExpectMsg<Delivery>();
                    Assert.Equal(RandomHeaders.Users(headers), RandomHeaders.Users(delivery.Envelope.Headers));
                    accepted.Add((ack.SequenceNr!.Value, RandomHeaders.Users(headers)));
                }
                else
                {
                    var rejected = Assert.IsType<PublishRejected>(reply);
                    Assert.Equal(PublishFailure.SchemaMismatch, rejected.Reason);
                    Assert.Contains("header", rejected.Detail);
                }
                Assert.Equal(accepted.Count, JournalRows("channel-h-"));
            }
            // Both outcomes were tried.
            Assert.InRange(accepted.Count, 1, sets.Length - 1);
            Shutdown(Sys);

            var restarted = StartSystemOnSameDatabase();
            try
            {
                var recovered = LiminalBus.Start(restarted, Settings);
                var probe = CreateTestProbe(restarted);
                recovered.Channels.Tell(new Replay("h", 0, 1, probe.Ref), probe.Ref);
                var replayed = probe.ReceiveN(accepted.Count).Cast<Delivery>().ToList();
                probe.ExpectMsg<ReplayCompleted>();
                Assert.Equal(accepted.Select(a => a.SequenceNr), replayed.Select(d => d.SequenceNr!.Value));
                Assert.Equal(accepted.Select(a => a.Headers), replayed.Select(d => RandomHeaders.Users(d.Envelope.Headers)));
            }
            finally
            {
                Shutdown(restarted);
            }
        }, iter: 1, threads: 1, seed: Environment.GetEnvironmentVariable("CsCheck_Seed"));
    }

    [Fact]
    public void A_keyed_duplicate_with_other_headers_is_answered_duplicate_and_the_original_headers_stay()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("h", subscriber.Ref));
        var original = new Dictionary<string, string> { ["x-tenant"] = "acme" };

        Ask<PublishAck>(bus.Channels, new Publish("h", new MessageEnvelope(ChannelReading.Payload("k"), "shop", Headers: original), "k"));
        var duplicate = Ask<PublishAck>(bus.Channels, new Publish("h", new MessageEnvelope(ChannelReading.Payload("k"), "shop",
            Headers: new Dictionary<string, string> { ["x-tenant"] = "evil", ["x-extra"] = "1" }), "k"));

        Assert.True(duplicate.Duplicate);
        Assert.Equal(original, RandomHeaders.Users(subscriber.ExpectMsg<Delivery>().Envelope.Headers));
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        var probe = CreateTestProbe();
        bus.Channels.Tell(new Replay("h", 0, 1, probe.Ref), probe.Ref);
        Assert.Equal(original, RandomHeaders.Users(probe.ExpectMsg<Delivery>().Envelope.Headers));
        Assert.Equal(1L, probe.ExpectMsg<ReplayCompleted>().LastSequenceNr);
    }
}

/// <summary>
/// The same through a real Akka.Remote hop to the host, sent raw (past <c>Liminal.Client</c>'s own checks): every
/// publish is answered, never dropped by the transport, and the largest one the rules allow (payload, headers and
/// keys all at their limits, in the characters JSON escapes most) still crosses both ways.
/// </summary>
public sealed class RemoteHeaderAttacks(RemoteHostFixture host) : Akka.TestKit.Xunit2.TestKit(LiminalClient.ClientConfig()), IClassFixture<RemoteHostFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(12);

    private async Task<(LiminalBus Bus, IActorRef Raw, string Channel)> ConnectAsync()
    {
        var bus = await LiminalClient.ConnectAsync(Sys, "127.0.0.1", host.RemotePort);
        var raw = await Sys.ActorSelection($"akka.tcp://{LiminalClient.HostSystemName}@127.0.0.1:{host.RemotePort}/user/{LiminalActorNames.Channels}").ResolveOne(Patience);
        var channel = $"c{Guid.NewGuid():N}";
        raw.Tell(new CreateChannel(new ChannelDefinition(channel, Durable: true)), TestActor);
        ExpectMsg<ChannelCreated>(Patience);
        return (bus, raw, channel);
    }

    [Fact]
    public async Task Random_headers_sent_raw_over_Akka_Remote_are_each_answered_and_delivered_exactly_or_rejected_typed()
    {
        var (_, raw, channel) = await ConnectAsync();
        var subscriber = CreateTestProbe();
        raw.Tell(new Subscribe(channel, subscriber.Ref), TestActor);
        ExpectMsg<Subscribed>(Patience);
        var accepted = new List<IReadOnlyDictionary<string, string>>();

        RandomHeaders.Headers.Array[80].Sample(sets =>
        {
            for (var i = 0; i < sets.Length; i++)
            {
                raw.Tell(new Publish(channel, new MessageEnvelope(ChannelReading.Payload($"k{i}", i), "remote", Headers: sets[i]), $"k{i}"), TestActor);
                var reply = ExpectMsg<object>(Patience);
                if (RandomHeaders.Acceptable(sets[i]))
                {
                    Assert.Equal(accepted.Count + 1L, Assert.IsType<PublishAck>(reply).SequenceNr);
                    Assert.Equal(RandomHeaders.Users(sets[i]), RandomHeaders.Users(subscriber.ExpectMsg<Delivery>(Patience).Envelope.Headers));
                    accepted.Add(RandomHeaders.Users(sets[i]));
                }
                else
                    Assert.Equal(PublishFailure.SchemaMismatch, Assert.IsType<PublishRejected>(reply).Reason);
            }
        }, iter: 1, threads: 1, seed: Environment.GetEnvironmentVariable("CsCheck_Seed"));

        Assert.NotEmpty(accepted);
        var reader = CreateTestProbe();
        raw.Tell(new Replay(channel, 0, 1, reader.Ref), reader.Ref);
        var replayed = reader.ReceiveN(accepted.Count, Patience).Cast<Delivery>().Select(d => RandomHeaders.Users(d.Envelope.Headers)).ToList();
        Assert.Equal(accepted.Count, reader.ExpectMsg<ReplayCompleted>(Patience).LastSequenceNr);
        Assert.Equal(accepted, replayed);
    }

    [Fact]
    public async Task The_largest_publish_the_rules_allow_with_headers_crosses_Akka_Remote_both_ways()
    {
        var (bus, raw, channel) = await ConnectAsync();
        var subscriber = CreateTestProbe();
        raw.Tell(new Subscribe(channel, subscriber.Ref), TestActor);
        ExpectMsg<Subscribed>(Patience);
        // '<' is six bytes in the JSON (\u003C); 32 headers of 128-byte values and short names make 4096 UTF-8 bytes.
        var headers = Enumerable.Range(0, InputRules.MaxHeaders).ToDictionary(i => $"h{i:D2}", _ => new string('<', 125), StringComparer.Ordinal);
        Assert.Equal(InputRules.MaxHeadersBytes, headers.Sum(h => Encoding.UTF8.GetByteCount(h.Key) + Encoding.UTF8.GetByteCount(h.Value)));
        var envelope = new MessageEnvelope(Payloads.JsonOfSize(InputRules.DefaultMaxPayloadBytes), new string('<', 256), Headers: headers);
        var key = new string('<', InputRules.MaxKeyBytes);

        foreach (var target in new[] { raw, bus.Channels })
        {
            target.Tell(new Publish(channel, envelope, key) { PartitionKey = key }, TestActor);
            Assert.IsType<PublishAck>(ExpectMsg<object>(Patience));
        }

        var delivered = subscriber.ExpectMsg<Delivery>(Patience);
        Assert.Equal(envelope, delivered.Envelope with { Headers = RandomHeaders.Users(delivered.Envelope.Headers) });
        var reader = CreateTestProbe();
        raw.Tell(new Replay(channel, 0, 1, reader.Ref), reader.Ref);
        var replayed = reader.ExpectMsg<Delivery>(Patience);
        Assert.Equal(envelope, replayed.Envelope with { Headers = RandomHeaders.Users(replayed.Envelope.Headers) });
        Assert.Equal(1L, reader.ExpectMsg<ReplayCompleted>(Patience).LastSequenceNr);
    }
}
