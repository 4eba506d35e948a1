// mediasoup's worker calls libsrtp's 3.0.0-beta API; Debian ships libsrtp 2.5.
// This header provides the 3.0 signatures on top of the 2.5 library:
// out-of-place protect/unprotect with size_t lengths, srtp_stream_remove and
// two newer error codes. The 2.5 functions work in place, so the input is
// copied into the output buffer first, after checking that it has room for
// the SRTP trailer.
#pragma once

#include <srtp2/srtp.h>
#include <cstring>
#include <climits>

#define srtp_err_status_buffer_small static_cast<srtp_err_status_t>(28)
#define srtp_err_status_cryptex_err static_cast<srtp_err_status_t>(29)

namespace srtp3_adapter
{
	using inplace_fn = srtp_err_status_t (*)(srtp_t, void*, int*, unsigned int, unsigned int);

	inline srtp_err_status_t protect(
	  inplace_fn fn,
	  srtp_t ctx,
	  const uint8_t* in,
	  size_t inLen,
	  uint8_t* out,
	  size_t* outLen,
	  size_t trailerRoom,
	  size_t mkiIndex)
	{
		if (inLen > INT_MAX || *outLen < inLen + trailerRoom)
			return srtp_err_status_buffer_small;
		if (out != in)
			std::memmove(out, in, inLen);
		int len = static_cast<int>(inLen);
		const srtp_err_status_t err = fn(ctx, out, &len, 0, static_cast<unsigned int>(mkiIndex));
		if (err == srtp_err_status_ok)
			*outLen = static_cast<size_t>(len);
		return err;
	}

	inline srtp_err_status_t unprotect(
	  srtp_err_status_t (*fn)(srtp_t, void*, int*),
	  srtp_t ctx,
	  const uint8_t* in,
	  size_t inLen,
	  uint8_t* out,
	  size_t* outLen)
	{
		if (inLen > INT_MAX || *outLen < inLen)
			return srtp_err_status_buffer_small;
		if (out != in)
			std::memmove(out, in, inLen);
		int len = static_cast<int>(inLen);
		const srtp_err_status_t err = fn(ctx, out, &len);
		if (err == srtp_err_status_ok)
			*outLen = static_cast<size_t>(len);
		return err;
	}
} // namespace srtp3_adapter

inline srtp_err_status_t srtp_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtpLen, uint8_t* srtp, size_t* srtpLen, size_t mkiIndex)
{
	return srtp3_adapter::protect(
	  srtp_protect_mki, ctx, rtp, rtpLen, srtp, srtpLen, SRTP_MAX_TRAILER_LEN, mkiIndex);
}

inline srtp_err_status_t srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcpLen, uint8_t* srtcp, size_t* srtcpLen, size_t mkiIndex)
{
	// 2.5 appends the SRTCP index (4 bytes) besides the tag and MKI.
	return srtp3_adapter::protect(
	  srtp_protect_rtcp_mki, ctx, rtcp, rtcpLen, srtcp, srtcpLen, SRTP_MAX_TRAILER_LEN + 4, mkiIndex);
}

inline srtp_err_status_t srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtpLen, uint8_t* rtp, size_t* rtpLen)
{
	return srtp3_adapter::unprotect(::srtp_unprotect, ctx, srtp, srtpLen, rtp, rtpLen);
}

inline srtp_err_status_t srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcpLen, uint8_t* rtcp, size_t* rtcpLen)
{
	return srtp3_adapter::unprotect(::srtp_unprotect_rtcp, ctx, srtcp, srtcpLen, rtcp, rtcpLen);
}

inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
	return srtp_remove_stream(session, ssrc);
}
