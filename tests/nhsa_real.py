"""Figures of five real platform settlements and four fee lines (personal data removed), as
transcribed in /work/shared/docs/nhsa/real_settlements.py from public hospital-system code:
HB = Hebei 2207/2208 and 2204, CQ = Chongqing 2304/2305 and 2301 (newtouch-cloud/openhis@68c8c623
WinServiceAPI/YiBaoInterface/ClassHelper.cs), HN = Hunan 2304 (fengzaiqishi11/hsa-his@1fcd5579
InptSettlementBOImpl.java). Test data for the identity checker; None is a null on the wire."""

SETTLEMENTS = {
    "HB-2207": dict(medfee_sumamt="4.52", fulamt_ownpay_amt="0", overlmt_selfpay="0", preselfpay_amt="0.23",
                    inscp_scp_amt="4.29", act_pay_dedc="4.29", fund_pay_sumamt="0", psn_part_amt="4.52",
                    hosp_part_amt="0", acct_pay="4.52", psn_cash_pay="0"),
    "HB-2208(cancel)": dict(medfee_sumamt="-25.1", fulamt_ownpay_amt="0", overlmt_selfpay="0", preselfpay_amt="-0.23",
                            inscp_scp_amt="-24.87", act_pay_dedc="-24.87", fund_pay_sumamt="0", psn_part_amt=None,
                            hosp_part_amt=None, acct_pay="-25.1", psn_cash_pay="0"),
    "CQ-2304": dict(medfee_sumamt="23442.46", fulamt_ownpay_amt="2533.97", overlmt_selfpay="1396.89",
                    preselfpay_amt="703.44", inscp_scp_amt="18808.16", act_pay_dedc="0", hifob_pay="18785.39",
                    fund_pay_sumamt="18785.39", psn_part_amt="4152.06", hosp_part_amt="505.01", acct_pay="170.04",
                    psn_cash_pay="3982.02"),
    "CQ-2305(cancel)": dict(medfee_sumamt="-3379.26", fulamt_ownpay_amt="-956.34", overlmt_selfpay="-186.31",
                            preselfpay_amt="-197.22", inscp_scp_amt="-2039.39", act_pay_dedc="0", hifob_pay="-2039.39",
                            fund_pay_sumamt="-2039.39", psn_part_amt=None, hosp_part_amt=None, acct_pay="0",
                            psn_cash_pay="-1307.01", ownpay_hosp_part="-32.86"),
    "HN-2304": dict(medfee_sumamt="5792.53", fulamt_ownpay_amt="296.2", overlmt_selfpay="0", preselfpay_amt="522.61",
                    inscp_scp_amt="4973.72", act_pay_dedc="800", hifp_pay="3106.54", fund_pay_sumamt="3106.54",
                    psn_part_amt="2685.99", hosp_part_amt="0", acct_pay="0", psn_cash_pay="2685.99"),
}

# 2204/2301 result lines: (feedetl_sn, chrgitm_lv, det, fulamt, overlmt, preselfpay, inscp, selfpay_prop)
LINES = [
    ("HB-2204", "02", "4.52", "0", "0", "0.23", "4.29", "0.05"),
    ("CQ-2301-a", "01", "6.0", "0", "0", "0", "6.0", "0"),
    ("CQ-2301-b", "03", "1.5", "1.5", "0", "0", "0", "1"),
    ("CQ-2301-c", "01", "36.0", "0", "0", "0", "36.0", "0"),
]

# Their setldetail lines (fund_pay_type, fund_payamt). HN-2304's was transcribed without its
# fund line (the source listed an in-scope line with an empty fund_pay_type), so I9' is not
# checked on it.
DETAIL = {
    "HB-2207": [("310200", "4.52")],
    "HB-2208(cancel)": [("310200", "-25.1")],
    "CQ-2304": [("330101", "18785.39"), ("999996", "505.01"), ("310201", "170.04")],
    "CQ-2305(cancel)": [("330100", "-2039.39"), ("999997", "-32.86")],
}
