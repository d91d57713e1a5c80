using Akka.Actor;

namespace Liminal.Actors.Validation;

/// <summary>
/// Akka.Remote's frame limit against <c>liminal.max-payload-bytes</c>. Akka.Remote drops a message larger than
/// <c>maximum-frame-size</c> (sender or receiver logs an <c>OversizedPayloadException</c>; nobody is answered), so the
/// frame must hold the largest message the bus takes or sends: a payload of the maximum size, Base64 in the JSON of
/// <see cref="LiminalWireSerializer"/>, plus its envelope (ids, keys and actor paths, bounded by
/// <see cref="InputRules"/>).
/// </summary>
public static class WireFrame
{
    /// <summary>The HOCON key of the frame limit of Akka.Remote's TCP transport.</summary>
    public const string MaximumFrameSizeKey = "akka.remote.dot-netty.tcp.maximum-frame-size";

    /// <summary>
    /// Room for everything beside the payload: ids and keys of up to 1 KiB each (six bytes a character when JSON
    /// escapes them), actor paths and Akka.Remote's own envelope.
    /// </summary>
    public const int EnvelopeBytes = 64 * 1024;

    /// <summary>Akka.Remote's own envelope around a serialized message: recipient and sender paths, serializer, manifest.</summary>
    public const int RemoteEnvelopeBytes = 4 * 1024;

    /// <summary>
    /// Whether a reply serialized to <paramref name="messageBytes"/> fits the frame every side is sized to for
    /// <paramref name="maxPayloadBytes"/> (for replies that grow with what is stored, such as a conversation's state).
    /// </summary>
    public static bool Fits(int messageBytes, int maxPayloadBytes) => messageBytes + RemoteEnvelopeBytes <= SizeFor(maxPayloadBytes);

    /// <summary>The frame size that carries a payload of <paramref name="maxPayloadBytes"/> with its envelope.</summary>
    public static int SizeFor(int maxPayloadBytes) => checked(4 * ((maxPayloadBytes + 2) / 3) + EnvelopeBytes);

    /// <summary>What is wrong with the actor system's frame limit for this payload limit, or null (also when it has no remoting).</summary>
    public static string? Problem(ActorSystem system, int maxPayloadBytes)
    {
        if (system.Settings.ProviderClass.StartsWith(typeof(LocalActorRefProvider).FullName!, StringComparison.Ordinal))
            return null;
        var frame = system.Settings.Config.GetByteSize(MaximumFrameSizeKey, null);
        var needed = SizeFor(maxPayloadBytes);
        return frame is { } size && size < needed
            ? $"{MaximumFrameSizeKey}: {size} bytes cannot carry a payload of liminal.max-payload-bytes = {maxPayloadBytes} (needs {needed}); " +
              "Akka.Remote would drop such messages without an answer"
            : null;
    }
}
