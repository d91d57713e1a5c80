using System.Text;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>Payloads of a given size, for the payload limit.</summary>
public static class Payloads
{
    /// <summary>A JSON string of exactly <paramref name="bytes"/> UTF-8 bytes (at least 2).</summary>
    public static byte[] JsonOfSize(int bytes) => Encoding.UTF8.GetBytes("\"" + new string('a', bytes - 2) + "\"");
}
